import { SessionEngine } from '../engine/session-engine.js';
import { SessiondError, isSessiondError } from '../errors.js';
import { ADMIN_PORT_DEFAULT } from '../admin/admin-options.js';
import { loadKeys } from './keys-file.js';

/**
 * Opens a stopped store for `sessiond export|import`, with the keys of SESSIOND_KEYS if set. A store another process holds (most
 * often `sessiond serve`) is refused by its lock; the error then says how to go through
 * that server's admin port instead.
 */
export async function openStopped(dir: string, command: string): Promise<SessionEngine> {
  try {
    // An encrypted store's keys: SESSIOND_KEYS (docs/operations.md, "Encryption at rest").
    const encryption = loadKeys(undefined);
    return await SessionEngine.open({ dir, ...(encryption === undefined ? {} : { encryption }) });
  } catch (e) {
    if (!isSessiondError(e, 'SESSIOND_LOCKED')) throw e;
    const hint =
      `if it is \`sessiond serve\`, ${command} through its admin port instead: ` +
      `sessiond ${command} --admin-url http://127.0.0.1:${ADMIN_PORT_DEFAULT} ... (the server needs --admin-port)`;
    throw new SessiondError('SESSIOND_LOCKED', `${e.message.replace(/^[^:]*: /, '')}; ${hint}`, e.context, { cause: e });
  }
}
