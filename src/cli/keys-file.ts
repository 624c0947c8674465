import { readFileSync } from 'node:fs';
import { SessiondError } from '../errors.js';
import type { EncryptionInput } from '../session/attr-seal.js';

/**
 * Encryption keys for the CLI (docs/operations.md, "Encryption at rest"): the JSON text
 * `{ "current": "k2", "keys": { "k1": "<base64 of 32 bytes>", "k2": "..." } }`, read from
 * `--keys-file FILE`, else from the SESSIOND_KEYS environment variable; undefined when
 * neither is given. The engine validates it (SESSIOND_INVALID_OPTION naming the bad key).
 */
export function loadKeys(file: string | undefined, env: NodeJS.ProcessEnv = process.env): EncryptionInput | undefined {
  let text: string | undefined;
  let from = 'SESSIOND_KEYS';
  if (file !== undefined) {
    from = file;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new SessiondError('SESSIOND_INVALID_OPTION', `encryption: cannot read the keys file ${file}: ${(e as Error).message}`, { option: 'encryption' });
    }
  } else {
    text = env.SESSIOND_KEYS;
  }
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as EncryptionInput;
  } catch {
    throw new SessiondError('SESSIOND_INVALID_OPTION', `encryption: ${from} is not JSON ({ "current": id, "keys": { id: base64 } })`, { option: 'encryption' });
  }
}
