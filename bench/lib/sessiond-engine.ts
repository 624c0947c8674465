import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from './package-version.js';

/** What the bench uses of sessiond's engine: opened at run time, so the bench runs before it exists. */
export interface SessiondEngineModules {
  SessionEngine: typeof import('../../src/engine/session-engine.js').SessionEngine;
  serializeObject: typeof import('../../src/session/attributes.js').serializeObject;
  blobToJsonObject: typeof import('../../src/session/attributes.js').blobToJsonObject;
  blobFromAttributes: typeof import('../../src/session/attributes.js').blobFromAttributes;
}

export type SessionEngine = import('../../src/engine/session-engine.js').SessionEngine;

const ENGINE_JS = join(REPO_ROOT, 'dist/src/engine/session-engine.js');
const ATTRIBUTES_JS = join(REPO_ROOT, 'dist/src/session/attributes.js');

export function sessiondEngineBuilt(): boolean {
  return existsSync(ENGINE_JS) && existsSync(ATTRIBUTES_JS);
}

export async function loadSessiondEngine(): Promise<SessiondEngineModules> {
  const engine = (await import(pathToFileURL(ENGINE_JS).href)) as { SessionEngine: SessiondEngineModules['SessionEngine'] };
  const attrs = (await import(pathToFileURL(ATTRIBUTES_JS).href)) as Omit<SessiondEngineModules, 'SessionEngine'>;
  return { SessionEngine: engine.SessionEngine, ...attrs };
}
