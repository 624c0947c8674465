import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/bench/lib/ (compiled) or bench/lib/. */
export const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url));

/** Installed version of a package in the repository's node_modules, or 'missing'. */
export function packageVersion(name: string): string {
  try {
    const json = JSON.parse(readFileSync(`${REPO_ROOT}node_modules/${name}/package.json`, 'utf8')) as { version?: string };
    return json.version ?? 'unknown';
  } catch {
    return 'missing';
  }
}
