import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { SessionEngine } from '../engine/session-engine.js';
import { SessiondError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { attributesFromBlob } from '../session/attributes.js';
import { attributesOf, idOfKey, valueOf } from './key-value.js';

/**
 * The key mapping a store directory was written with (docs/server.md "Keys and values",
 * docs/format.md "serve-keys"). Mapping 1 (sessiond serve before this file existed) made
 * every key's engine ID its base64url SHA-256; mapping 2 (key-value.ts) uses the key itself.
 * `sessiond serve` writes `serve-keys` (one line, `sessiond serve key mapping 2`) when it
 * first opens a store, and refuses a store that holds mapping-1 sessions with
 * SESSIOND_KEY_MAPPING unless asked to migrate it (`--migrate-keys`).
 */

export const KEY_MAPPING = 2;
export const KEY_MAPPING_FILE = 'serve-keys';
const LINE = (n: number): string => `sessiond serve key mapping ${n}\n`;

/** Sessions migrated concurrently (each a save and a destroy through the group commit). */
const MIGRATE_BATCH = 256;
/** Longest `serve-keys` file read: the line is far shorter. */
const LINE_BYTES_MAX = 256;

async function readMapping(fs: FileSystem, dir: string): Promise<number | undefined> {
  const path = join(dir, KEY_MAPPING_FILE);
  let text: string;
  try {
    const st = await fs.stat(path);
    if (st === undefined) return undefined;
    const h = await fs.open(path, 'r');
    try {
      const buf = Buffer.alloc(Math.min(st.size, LINE_BYTES_MAX));
      const n = await h.read(buf, 0, buf.length, 0);
      text = buf.toString('utf8', 0, n);
    } finally {
      await h.close();
    }
  } catch (e) {
    throw new SessiondError('SESSIOND_IO', `reading ${path}: ${(e as Error).message}`, { file: path }, { cause: e });
  }
  const m = /^sessiond serve key mapping (\d+)\n$/.exec(text);
  if (m === null) throw new SessiondError('SESSIOND_KEY_MAPPING', `${path} is not a key mapping line: ${JSON.stringify(text.slice(0, 80))}`, { dir, file: path });
  return Number(m[1]);
}

/** Written to a temp file, fdatasynced, renamed, directory fsynced: a crash leaves no file or the whole one. */
async function writeMapping(fs: FileSystem, dir: string): Promise<void> {
  const tmp = join(dir, `${KEY_MAPPING_FILE}.new`);
  try {
    const h = await fs.open(tmp, 'create');
    try {
      await h.truncate(0);
      await h.writev([Buffer.from(LINE(KEY_MAPPING), 'utf8')], 0);
      await h.datasync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, join(dir, KEY_MAPPING_FILE));
    await fs.syncDir(dir);
  } catch (e) {
    throw new SessiondError('SESSIOND_IO', `writing ${join(dir, KEY_MAPPING_FILE)}: ${(e as Error).message}`, { file: join(dir, KEY_MAPPING_FILE) }, { cause: e });
  }
}

/** The key of a mapping-1 session (attribute `k` whose SHA-256 is the ID), or undefined. */
function mapping1Key(id: string, attrs: string): Buffer | undefined {
  if (id.length !== 43) return undefined;
  const k = attributesFromBlob(attrs).get('k');
  if (k === undefined) return undefined;
  const key = Buffer.from(JSON.parse(k) as string, 'latin1');
  return createHash('sha256').update(key).digest('base64url') === id ? key : undefined;
}

/**
 * Checks (and on first open records) the store's key mapping. Without `serve-keys`, looks
 * at every session once: mapping-1 sessions are migrated when `migrate` is set (each saved
 * under its mapping-2 ID with the same value and expiry, then destroyed; a crash midway
 * is finished by the next run), else refused. Resolves the number of sessions migrated.
 */
export async function checkKeyMapping(engine: SessionEngine, fs: FileSystem, dir: string, migrate: boolean): Promise<number> {
  const found = await readMapping(fs, dir);
  if (found === KEY_MAPPING) return 0;
  if (found !== undefined) {
    throw new SessiondError('SESSIOND_KEY_MAPPING', `the store was written with key mapping ${found}; this sessiond serves mapping ${KEY_MAPPING} only`, { dir, mapping: found });
  }
  const old = engine.all().flatMap((s) => {
    const key = mapping1Key(s.id, s.attrs);
    return key === undefined ? [] : [{ s, key }];
  });
  if (old.length > 0 && !migrate) {
    throw new SessiondError(
      'SESSIOND_KEY_MAPPING',
      `${old.length} sessions were written by an older sessiond serve, whose engine IDs were hashes of the keys; run \`sessiond serve ${dir} --migrate-keys\` once (it rewrites them under the keys themselves), or serve it with that older version`,
      { dir, mapping: 1, sessions: old.length },
    );
  }
  for (let i = 0; i < old.length; i += MIGRATE_BATCH) {
    await Promise.all(
      old.slice(i, i + MIGRATE_BATCH).map(async ({ s, key }) => {
        const id = idOfKey(key);
        await engine.save(id, { attributes: attributesOf(id, key, valueOf(s)), expiresAtMs: s.expiresAtMs });
        await engine.destroy(s.id);
      }),
    );
  }
  await writeMapping(fs, dir);
  return old.length;
}
