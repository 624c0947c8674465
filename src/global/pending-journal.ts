import { SessiondError, ioError } from '../errors.js';
import { assert } from '../assert.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';

/**
 * The sessions waiting for write-back to the global store (back mode, or any mode while
 * the global store is unreachable), kept in a small file beside the store, `global-pending`
 * (docs/format.md §9). The local log already holds every change itself; what a crash must
 * not lose is which sessions still have to be written back. A session is added durably
 * (fdatasync, group-committed with the other additions waiting) before its change is
 * acknowledged; removals are appended without waiting and made durable with the next sync,
 * and always before a session is handed to another server (`sync()`).
 */

export const PENDING_FILE = 'global-pending';
const HEADER = 'sessiond-pending 1\n';
/** The file is rewritten (compacted) once it is this much larger than its live entries need. */
const COMPACT_BYTES_MIN = 1 << 20;

export interface PendingEntry {
  /** When it became pending (this process's monotonic ms; a replayed entry gets the open time). */
  sinceMs: number;
}

/** The ID of a line's JSON string, or undefined when it is not one (or empty). */
function parseId(text: string): string | undefined {
  try {
    const id: unknown = JSON.parse(text);
    return typeof id === 'string' && id.length > 0 ? id : undefined;
  } catch {
    return undefined;
  }
}

export class PendingJournal {
  /** Insertion order is write-back order: oldest pending first. */
  private readonly entries = new Map<string, PendingEntry>();
  private queued: string[] = [];
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private writing: Promise<void> | undefined;
  private size: number;
  private failed: unknown;

  private constructor(
    private readonly fs: FileSystem,
    private readonly path: string,
    private fh: FileHandle,
    private readonly now: () => number,
  ) {
    this.size = 0;
  }

  /** Replays the file (a torn last line is dropped) and rewrites it compacted. */
  static async open(fs: FileSystem, dir: string, now: () => number): Promise<PendingJournal> {
    const path = `${dir}/${PENDING_FILE}`;
    const entries = new Set<string>();
    if ((await fs.stat(path)) !== undefined) {
      const text = await readAll(fs, path);
      if (text.length > 0 && !text.startsWith(HEADER)) throw corrupt(path, 'bad header');
      const lines = text.slice(HEADER.length).split('\n');
      lines.pop(); // the part after the last newline: empty, or a torn line never acknowledged
      for (const [i, line] of lines.entries()) {
        const op = line[0];
        const id = parseId(line.slice(2));
        if (line[1] !== ' ' || id === undefined || (op !== 'p' && op !== 'd')) throw corrupt(path, `bad line ${i + 1}`);
        if (op === 'd') entries.delete(id);
        else entries.add(id);
      }
    }
    const body = HEADER + [...entries].map((id) => `p ${JSON.stringify(id)}\n`).join('');
    const tmp = `${path}.new`;
    const step = async <T>(op: string, file: string, f: () => Promise<T>): Promise<T> => f().catch((e: unknown) => Promise.reject(ioError(op, file, e)));
    const t = await step('open', tmp, () => fs.open(tmp, 'create'));
    await step('truncate', tmp, () => t.truncate(0));
    await step('write', tmp, () => t.writev([Buffer.from(body)], 0));
    await step('datasync', tmp, () => t.datasync());
    await t.close();
    await step('rename', tmp, () => fs.rename(tmp, path));
    await step('syncDir', dir, () => fs.syncDir(dir));
    const fh = await step('open', path, () => fs.open(path, 'r+'));
    const j = new PendingJournal(fs, path, fh, now);
    j.size = Buffer.byteLength(body);
    const at = now();
    for (const id of entries) j.entries.set(id, { sinceMs: at });
    return j;
  }

  get count(): number {
    return this.entries.size;
  }

  get(id: string): PendingEntry | undefined {
    return this.entries.get(id);
  }

  /** Oldest pending first. */
  list(): Array<[string, PendingEntry]> {
    return [...this.entries];
  }

  /** Marks the session pending; resolves once that is durable (at once when it already was pending). */
  add(id: string): Promise<void> {
    if (this.entries.has(id)) return Promise.resolve();
    this.entries.set(id, { sinceMs: this.now() });
    this.append('p', id);
    return this.sync();
  }

  /** Written back (or dropped): no longer pending. Durable with the next sync. */
  remove(id: string): void {
    if (!this.entries.delete(id)) return;
    this.append('d', id);
    void this.sync().catch(() => undefined);
  }

  /** One line: the op and the ID as a JSON string (IDs may hold any character, newlines included). */
  private append(op: 'p' | 'd', id: string): void {
    assert(id.length > 0, 'pending journal: an empty session ID');
    this.queued.push(`${op} ${JSON.stringify(id)}\n`);
  }

  /** Resolves once everything appended so far is durable. */
  sync(): Promise<void> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.queued.length === 0 && this.writing === undefined) return Promise.resolve();
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.writing ??= this.writeLoop();
    return p;
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queued.length > 0 || this.waiters.length > 0) {
        const lines = this.queued;
        const waiters = this.waiters;
        this.queued = [];
        this.waiters = [];
        try {
          if (lines.length > 0) {
            const buf = Buffer.from(lines.join(''));
            await this.fh.writev([buf], this.size);
            this.size += buf.length;
          }
          await this.fh.datasync();
          for (const w of waiters) w.resolve();
        } catch (e) {
          // A failed fdatasync leaves the file's state unknown: refuse from now on (as the log does).
          this.failed = ioError('write', this.path, e);
          for (const w of [...waiters, ...this.waiters]) w.reject(this.failed);
          this.waiters = [];
          return;
        }
        if (this.size > COMPACT_BYTES_MIN && this.size > 64 * (this.entries.size + 1) * 4) await this.compact();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Rewrites the file with the live entries only (runs inside the write loop, so no append interleaves). */
  private async compact(): Promise<void> {
    const body = HEADER + [...this.entries.keys()].map((id) => `p ${id}\n`).join('');
    const tmp = `${this.path}.new`;
    const dir = this.path.slice(0, this.path.lastIndexOf('/'));
    try {
      const t = await this.fs.open(tmp, 'create');
      await t.truncate(0);
      await t.writev([Buffer.from(body)], 0);
      await t.datasync();
      await t.close();
      await this.fs.rename(tmp, this.path);
      await this.fs.syncDir(dir);
      await this.fh.close();
      this.fh = await this.fs.open(this.path, 'r+');
      this.size = Buffer.byteLength(body);
    } catch (e) {
      this.failed = ioError('compact', this.path, e);
    }
  }

  async close(): Promise<void> {
    await this.sync().catch(() => undefined);
    await this.fh.close().catch(() => undefined);
  }
}

async function readAll(fs: FileSystem, path: string): Promise<string> {
  const fh = await fs.open(path, 'r').catch((e: unknown) => Promise.reject(ioError('open', path, e)));
  try {
    const size = await fh.size();
    const buf = Buffer.alloc(size);
    let at = 0;
    while (at < size) {
      const n = await fh.read(buf, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return buf.subarray(0, at).toString('utf8');
  } finally {
    await fh.close();
  }
}

function corrupt(path: string, why: string): SessiondError {
  return new SessiondError('SESSIOND_RECORD_CORRUPT', `${path}: ${why}`, { file: path });
}
