import { isSessiondError, SessiondError } from '../errors.js';
import { PAYLOAD_LAYOUT_V3 } from '../format/constants.js';
import type { Encryption } from '../session/attr-seal.js';
import type { SessionDatabase } from './session-database.js';
import type { ColdSessions } from './cold-sessions.js';
import { decodeImageState } from '../session/session-decoder.js';
import type { SessionState } from '../session/session-state.js';

/** The database must read images back for the cache to evict them (cacheBytesMax). */
export function checkBoundedDatabase(db: SessionDatabase): Required<Pick<SessionDatabase, 'imageLsnOf' | 'readImage'>> {
  if (db.imageLsnOf === undefined || db.readImage === undefined) {
    throw new SessiondError('SESSIOND_INVALID_OPTION', 'cacheBytesMax: the database backend cannot read sessions back (it has no imageLsnOf/readImage)', { option: 'cacheBytesMax' });
  }
  return { imageLsnOf: (id) => db.imageLsnOf!(id), readImage: (id) => db.readImage!(id) };
}

/**
 * The state of a cold session from its image, read back (v3: recovery decodes v2 images),
 * its attributes opened with the keys. An image that passed its crc but does not decode
 * (a GCM tag that fails: a wrong key under the right ID) is SESSIOND_DB_CORRUPT like any
 * damaged image; a missing key stays SESSIOND_KEY_MISSING.
 */
export function decodeCold(data: Uint8Array, id: string, lsn: number, encryption: Encryption | undefined): SessionState {
  try {
    return decodeImageState(data, id, lsn, PAYLOAD_LAYOUT_V3, encryption);
  } catch (e) {
    if (isSessiondError(e, 'SESSIOND_KEY_MISSING')) throw e;
    throw new SessiondError('SESSIOND_DB_CORRUPT', `the image of a session does not decode: ${(e as Error).message}`, {}, { cause: e });
  }
}

/**
 * The loaded live states plus every unexpired cold one read back from the database file,
 * one at a time, without loading them into the cache (an export or a full listing must not
 * evict the hot sessions). A cold session loaded meanwhile is taken from `current` (the
 * engine's live view); one reclaimed or destroyed meanwhile is left out.
 */
export async function readAllStates(
  loaded: SessionState[],
  cold: ColdSessions,
  db: SessionDatabase,
  now: number,
  current: (id: string) => SessionState | undefined,
  encryption?: Encryption,
): Promise<SessionState[]> {
  const out = loaded;
  const ids: string[] = [];
  cold.forEach((id, expiryMs) => {
    if (expiryMs > now) ids.push(id);
  });
  for (const id of ids) {
    const img = cold.has(id) ? await db.readImage!(id) : undefined;
    if (img !== undefined && cold.has(id)) {
      out.push(decodeCold(img.data, id, img.lsn, encryption));
      continue;
    }
    const s = current(id);
    if (s !== undefined) out.push(s);
  }
  return out;
}
