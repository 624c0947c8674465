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
 *
 * A session written back may keep its mark for a while (`settle()`, back mode's
 * pendingKeepMs): it is no longer pending (not listed, not counted), but its `p` line stays
 * in the file, so its next change is acknowledged without another fdatasync. The file then
 * says more than is pending, never less: a crash replays the kept marks as pending, and
 * the write-back writes those sessions again. `dropSettled()` writes their `d` lines.
 */

export const PENDING_FILE = 'global-pending';
const HEADER = 'sessiond-pending 1\n';
/** The file is rewritten (compacted) once it is this much larger than its live entries need. */
const COMPACT_BYTES_MIN = 1 << 20;

export interface PendingEntry {
  /** When it became pending (this process's monotonic ms; a replayed entry gets the open time). */
  sinceMs: number;
}

/** A mark in the file: the sequence number of its `p` line (0: in the file at open), durable once `durable` reaches it. */
interface Mark {
  seq: number;
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
  private readonly entries = new Map<string, PendingEntry & Mark>();
  /** Written back, mark kept (settle()), by when (now()); oldest first. */
  private readonly settled = new Map<string, Mark & { atMs: number }>();
  /** Lines appended so far, and how many of them are durable. */
  private appended = 0;
  private durable = 0;
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
    for (const id of entries) j.entries.set(id, { sinceMs: at, seq: 0 });
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

  /** Sessions written back whose mark is kept (settle()). */
  get settledCount(): number {
    return this.settled.size;
  }

  /** Milliseconds until the oldest kept mark is `ageMs` old (dropSettled(ageMs) then drops it; <= 0: now); undefined when none is kept. */
  settledDueInMs(ageMs: number): number | undefined {
    for (const m of this.settled.values()) return m.atMs + ageMs - this.now();
    return undefined;
  }

  /**
   * Marks the session pending; resolves once its mark is durable: at once when its `p` line
   * is (it was pending already, or written back with its mark kept), else with the next sync.
   */
  add(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e !== undefined) return this.durableTo(e.seq);
    const kept = this.settled.get(id);
    if (kept !== undefined) {
      this.settled.delete(id);
      this.entries.set(id, { sinceMs: this.now(), seq: kept.seq });
      return this.durableTo(kept.seq);
    }
    this.entries.set(id, { sinceMs: this.now(), seq: this.append('p', id) });
    return this.sync();
  }

  /** Resolves once the line `seq` is durable (a mark whose line is still on its way is waited for). */
  private durableTo(seq: number): Promise<void> {
    return seq <= this.durable ? Promise.resolve() : this.sync();
  }

  /** Written back: no longer pending, its mark kept in the file until dropSettled(). */
  settle(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    this.settled.set(id, { seq: e.seq, atMs: this.now() });
  }

  /** Drops the kept marks settled at least `ageMs` ago (0: all); their removals are durable with the next sync, which this starts. */
  dropSettled(ageMs: number): void {
    const upTo = this.now() - ageMs;
    let dropped = 0;
    for (const [id, m] of this.settled) {
      if (m.atMs > upTo) break;
      this.settled.delete(id);
      this.append('d', id);
      dropped++;
    }
    if (dropped > 0) void this.sync().catch(() => undefined);
  }

  /** Written back for good (or dropped): no longer pending, mark included. Durable with the next sync. */
  remove(id: string): void {
    if (!this.entries.delete(id) && !this.settled.delete(id)) return;
    this.append('d', id);
    void this.sync().catch(() => undefined);
  }

  /** One line: the op and the ID as a JSON string (IDs may hold any character, newlines included); its sequence number. */
  private append(op: 'p' | 'd', id: string): number {
    assert(id.length > 0, 'pending journal: an empty session ID');
    this.queued.push(`${op} ${JSON.stringify(id)}\n`);
    return ++this.appended;
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
        const upTo = this.appended;
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
          this.durable = upTo;
          for (const w of waiters) w.resolve();
        } catch (e) {
          // A failed fdatasync leaves the file's state unknown: refuse from now on (as the log does).
          this.failed = ioError('write', this.path, e);
          for (const w of [...waiters, ...this.waiters]) w.reject(this.failed);
          this.waiters = [];
          return;
        }
        if (this.size > COMPACT_BYTES_MIN && this.size > 64 * (this.entries.size + this.settled.size + 1) * 4) await this.compact();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Rewrites the file with the live entries and kept marks only (runs inside the write loop, so no write interleaves). */
  private async compact(): Promise<void> {
    const body = HEADER + [...this.entries.keys(), ...this.settled.keys()].map((id) => `p ${JSON.stringify(id)}\n`).join('');
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
