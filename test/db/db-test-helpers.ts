/** Shared helpers of the database file tests (not a test file itself). */

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseFile } from '../../src/db/database-file.js';
import type { DbWriteBatch } from '../../src/db/database-file.js';
import { decodeDbHeader } from '../../src/db/db-header.js';
import { encodeImage } from '../../src/db/image-codec.js';
import { DB_BLOCK_BYTES, DB_FILE_NAME } from '../../src/format/constants.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

export const DIR = '/store';
export const DB_PATH = join(DIR, DB_FILE_NAME);

export interface Img {
  lsn: number;
  data: Uint8Array;
  offset: number;
}

/**
 * Tests name sessions briefly ('a', 'x', 'id7'); the store sees valid E1 ids (16+ URL-safe
 * characters): the name padded with '-'. payload, batch and openCollect translate.
 */
export function sid(name: string): string {
  return name.padEnd(16, '-');
}

export function unsid(id: string): string {
  return id.replace(/-+$/, '');
}

/** A PUT-like payload of session `name`: `str16 id`, then `body` (the db parses nothing past the id). */
export function payload(name: string, body: Uint8Array | string = ''): Uint8Array {
  const id = new TextEncoder().encode(sid(name));
  const b = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const out = new Uint8Array(2 + id.byteLength + b.byteLength);
  out[0] = id.byteLength & 0xff;
  out[1] = id.byteLength >> 8;
  out.set(id, 2);
  out.set(b, 2 + id.byteLength);
  return out;
}

/** A payload of exactly `bytes` bytes (at least 1 + id length). */
export function sizedPayload(name: string, bytes: number, fill = 0x61): Uint8Array {
  return payload(name, new Uint8Array(Math.max(0, bytes - 2 - sid(name).length)).fill(fill));
}

export async function openCollect(
  fs: FileSystem,
  opts: { dir?: string; salvage?: boolean; readChunkBytes?: number } = {},
): Promise<{ db: DatabaseFile; images: Map<string, Img> }> {
  /** Keyed by session name (see sid). */
  const images = new Map<string, Img>();
  const db = await DatabaseFile.open({ fs, dir: opts.dir ?? DIR, ...opts }, (img) => {
    const name = unsid(img.id);
    // A later copy that wins replaces the earlier one: it must be newer.
    const before = images.get(name);
    assert.ok(before === undefined || img.lsn > before.lsn, `onImage handed ${img.id} again without a higher lsn`);
    // data is only valid during the callback.
    images.set(name, { lsn: img.lsn, data: Uint8Array.from(img.data), offset: img.offset });
  });
  db.checkInvariants();
  return { db, images };
}

export async function newSim(): Promise<SimFileSystem> {
  const fs = new SimFileSystem();
  await fs.mkdir(DIR);
  return fs;
}

/** A new simulator holding the current contents of `fs`'s store directory, all durable. */
export async function cloneSim(fs: SimFileSystem): Promise<SimFileSystem> {
  const copy = await newSim();
  for (const name of fs.listSync(DIR)) copy.writeFileSync(join(DIR, name), fs.readFileSync(join(DIR, name)));
  return copy;
}

export async function withTmpDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sessiond-db-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Salt of a database file's current header. */
export function saltOf(file: Uint8Array): number {
  for (const k of [1, 0]) {
    const s = decodeDbHeader(file.subarray(k * DB_BLOCK_BYTES, (k + 1) * DB_BLOCK_BYTES));
    if (s.kind === 'valid') return s.header.salt;
  }
  throw new Error('no valid header');
}

/** The bytes of a whole extent holding an image, as the writer lays it out. */
export function rawImage(salt: number, lsn: number, data: Uint8Array): Uint8Array {
  const { buffers } = encodeImage(salt, lsn, data);
  return concat(buffers);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Writes `bytes` at `offset` of a planted copy of the sim file. */
export function patchFile(fs: SimFileSystem, path: string, offset: number, bytes: Uint8Array): void {
  const cur = fs.readFileSync(path);
  const out = new Uint8Array(Math.max(cur.byteLength, offset + bytes.byteLength));
  out.set(cur);
  out.set(bytes, offset);
  fs.writeFileSync(path, out);
}

/** A batch over session names (see sid). */
export function batch(puts: Array<[string, number, Uint8Array]>, deletes: string[], appliedLsn: number): DbWriteBatch {
  return { puts: puts.map(([name, lsn, data]) => ({ id: sid(name), lsn, data })), deletes: deletes.map(sid), appliedLsn };
}

/** The payload body after the str8 id, as text. */
export function bodyText(data: Uint8Array): string {
  return new TextDecoder().decode(data.subarray(2 + (data[0]! | (data[1]! << 8))));
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}
