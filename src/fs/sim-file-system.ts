/**
 * The simulated, fault-injecting file layer the engine's crash tests run on. In memory,
 * deterministic from a seed: unsynced writes can be dropped or torn per sector, unsynced
 * directory changes undone, the Nth call failed, and a crash armed at the Nth operation.
 * Pieces: sim-file.ts (contents and tearing), sim-namespace.ts (names), sim-faults.ts.
 */

import { assert } from '../assert.js';
import { Prng } from '../util/prng.js';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from './file-system.js';
import { crashError, FaultInjector, SIM_OPS, simError } from './sim-faults.js';
import type { FaultRule, SimOp } from './sim-faults.js';
import { SimFile } from './sim-file.js';
import type { CrashMode, CrashOptions } from './sim-file.js';
import { normalizePath, parentDir, SimNamespace } from './sim-namespace.js';

export type { CrashMode, CrashOptions, FaultRule, SimOp };
export { SIM_SECTOR_BYTES } from './sim-file.js';

/** Regular file, rw for the owner only (like node's stat().mode). */
const FILE_STAT_MODE = 0o100600;
/** Directory, rwx for the owner only. */
const DIR_STAT_MODE = 0o040700;
const DIR_STAT_SIZE = 4096;
const CRASH_MODES: readonly CrashMode[] = ['drop-all', 'keep-all', 'tear'];

/** Runs first in every counted op: counts it, fires an armed crash or an injected fault. */
type Gate = (op: SimOp, path: string, dest?: string, beforeCrash?: (rng: Prng) => void, onFault?: (rule: FaultRule, rng: Prng) => void) => void;

interface ArmedCrash {
  remaining: number;
  readonly seed: number;
  readonly options: CrashOptions;
}

export class SimFileSystem implements FileSystem {
  private readonly ns = new SimNamespace();
  private readonly faults = new FaultInjector();
  private readonly counts = new Map<SimOp, number>(SIM_OPS.map((op) => [op, 0]));
  private total = 0;
  private dead = false;
  private survivor: SimFileSystem | undefined;
  private armed: ArmedCrash | undefined;
  /** Draws what a failed datasync keeps ('seeded' sync loss). */
  private readonly faultRng: Prng;
  private readonly gate: Gate = (op, path, dest, beforeCrash, onFault) => this.begin(op, path, dest, beforeCrash, onFault);

  /** `seed` drives the injected faults' randomness (crashes take their own seed). */
  constructor(seed = 0) {
    this.faultRng = new Prng(seed);
  }

  // ---- FileSystem ----

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    assert(mode === 'r' || mode === 'r+' || mode === 'create' || mode === 'create-new', `bad open mode ${String(mode)}`);
    const p = normalizePath(path);
    this.begin('open', p);
    if (this.ns.isDir(p)) throw simError('EISDIR', 'open', p);
    let file = this.ns.file(p);
    if (file && mode === 'create-new') throw simError('EEXIST', 'open', p);
    if (!file) {
      if (mode !== 'create' && mode !== 'create-new') throw simError('ENOENT', 'open', p);
      this.checkParent('open', p);
      file = new SimFile();
      this.ns.create(p, file);
    }
    return new SimFileHandle(p, file, mode !== 'r', options?.dsync === true && mode !== 'r', this.gate);
  }

  async stat(path: string): Promise<{ size: number; mode: number } | undefined> {
    const p = normalizePath(path);
    this.begin('stat', p);
    const file = this.ns.file(p);
    if (file) return { size: file.size, mode: FILE_STAT_MODE };
    return this.ns.isDir(p) ? { size: DIR_STAT_SIZE, mode: DIR_STAT_MODE } : undefined;
  }

  async readdir(dir: string): Promise<string[]> {
    const d = normalizePath(dir);
    this.begin('readdir', d);
    if (!this.ns.isDir(d)) throw simError(this.ns.file(d) ? 'ENOTDIR' : 'ENOENT', 'readdir', d);
    return this.ns.list(d);
  }

  async mkdir(dir: string): Promise<void> {
    const d = normalizePath(dir);
    this.begin('mkdir', d);
    const missing: string[] = [];
    for (let up = d; !this.ns.isDir(up); up = parentDir(up)) {
      if (this.ns.file(up)) throw simError(up === d ? 'EEXIST' : 'ENOTDIR', 'mkdir', d);
      missing.push(up);
    }
    // Outermost first; each new entry is durable once its parent is synced.
    for (const m of missing.reverse()) this.ns.mkdir(m);
  }

  async rename(from: string, to: string): Promise<void> {
    const f = normalizePath(from);
    const t = normalizePath(to);
    this.begin('rename', f, t);
    // Directories cannot be renamed here: the engine never does, so the model stays small.
    if (this.ns.isDir(f) || this.ns.isDir(t)) throw simError('EISDIR', 'rename', f, t);
    if (!this.ns.file(f) || !this.ns.isDir(parentDir(t))) throw simError('ENOENT', 'rename', f, t);
    if (f !== t) this.ns.rename(f, t);
  }

  async unlink(path: string): Promise<void> {
    const p = normalizePath(path);
    this.begin('unlink', p);
    if (this.ns.isDir(p)) throw simError('EISDIR', 'unlink', p);
    if (!this.ns.file(p)) throw simError('ENOENT', 'unlink', p);
    this.ns.unlink(p);
  }

  async syncDir(dir: string): Promise<void> {
    const d = normalizePath(dir);
    this.begin('syncDir', d);
    if (!this.ns.isDir(d)) throw simError('ENOENT', 'syncDir', d);
    this.ns.syncDir(d);
  }

  // ---- crashes ----

  /**
   * Power loss now: returns a new file system holding what survives, chosen from `seed`,
   * and kills this one (every later call, here or on its handles, rejects EIO).
   */
  crash(seed: number, options: CrashOptions = {}): SimFileSystem {
    if (this.dead) throw crashError('crash', '');
    checkCrashOptions(options);
    return this.crashWith(new Prng(seed), options);
  }

  /**
   * Crashes when the nth counted op from now begins (a writev first lands a random prefix).
   * That op and every later one rejects; `crashed` then holds the survivor.
   */
  crashAtOp(n: number, seed: number, options: CrashOptions = {}): void {
    assert(Number.isSafeInteger(n) && n >= 1, `crashAtOp needs n >= 1, got ${n}`);
    assert(Number.isSafeInteger(seed), `crashAtOp seed must be a safe integer, got ${seed}`);
    if (this.dead) throw crashError('crashAtOp', '');
    checkCrashOptions(options);
    this.armed = { remaining: n, seed, options: { ...options } };
  }

  /** What a power loss now would leave (a new file system), without crashing this one. */
  peekCrash(seed: number, options: CrashOptions = {}): SimFileSystem {
    if (this.dead) throw crashError('peekCrash', '');
    checkCrashOptions(options);
    return this.survivorOf(new Prng(seed), options);
  }

  /** The survivor once this instance crashed. */
  get crashed(): SimFileSystem | undefined {
    return this.survivor;
  }

  get opCount(): number {
    return this.total;
  }

  get opCounts(): Readonly<Record<SimOp, number>> {
    return Object.fromEntries(this.counts) as Record<SimOp, number>;
  }

  // ---- faults ----

  injectFault(rule: FaultRule): void {
    this.faults.inject(rule);
  }

  clearFaults(): void {
    this.faults.clear();
  }

  // ---- test utilities (not counted, never faulted) ----

  /** Current contents (a copy); throws ENOENT when missing. */
  readFileSync(path: string): Uint8Array {
    const p = normalizePath(path);
    const file = this.ns.file(p);
    if (!file) throw simError('ENOENT', 'open', p);
    return file.currentBytes();
  }

  /** What a 'drop-all' crash would leave at `path`; undefined when its name is not durable. */
  durableFileSync(path: string): Uint8Array | undefined {
    return this.ns.durableFile(normalizePath(path))?.durableBytes();
  }

  /** Plants a file, contents and name durable at once (e.g. a corrupt file); creates parents. */
  writeFileSync(path: string, bytes: Uint8Array): void {
    const p = normalizePath(path);
    if (this.dead) throw crashError('writeFileSync', p);
    assert(!this.ns.isDir(p), `writeFileSync on a directory: ${p}`);
    this.ns.addDir(parentDir(p));
    const file = this.ns.file(p);
    if (file) file.replace(bytes);
    this.ns.plant(p, file ?? new SimFile(bytes));
  }

  /** Names in `dir` now, sorted; [] when it does not exist. */
  listSync(dir: string): string[] {
    const d = normalizePath(dir);
    return this.ns.isDir(d) ? this.ns.list(d) : [];
  }

  exists(path: string): boolean {
    const p = normalizePath(path);
    return this.ns.isDir(p) || this.ns.file(p) !== undefined;
  }

  // ---- internals ----

  private begin(op: SimOp, path: string, dest?: string, beforeCrash?: (rng: Prng) => void, onFault?: (rule: FaultRule, rng: Prng) => void): void {
    if (this.dead) throw crashError(op, path);
    this.total++;
    this.counts.set(op, this.counts.get(op)! + 1);
    if (this.armed && --this.armed.remaining === 0) {
      const { seed, options } = this.armed;
      this.armed = undefined;
      const rng = new Prng(seed);
      beforeCrash?.(rng);
      this.crashWith(rng, options);
      throw crashError(op, path);
    }
    const fault = this.faults.check(op, path, dest);
    if (fault) {
      onFault?.(fault.rule, this.faultRng);
      throw fault.error;
    }
  }

  private checkParent(op: SimOp, path: string): void {
    const dir = parentDir(path);
    if (!this.ns.isDir(dir)) throw simError(this.ns.file(dir) ? 'ENOTDIR' : 'ENOENT', op, path);
  }

  private crashWith(rng: Prng, options: CrashOptions): SimFileSystem {
    const next = this.survivorOf(rng, options);
    this.dead = true;
    this.survivor = next;
    return next;
  }

  private survivorOf(rng: Prng, options: CrashOptions): SimFileSystem {
    const { dirs, files } = this.ns.survivors(rng, options.mode ?? 'tear');
    const next = new SimFileSystem(rng.nextU32());
    for (const d of dirs) next.ns.addDir(d);
    // One copy per inode, in path order, so the draws from `rng` replay exactly.
    const copies = new Map<SimFile, SimFile>();
    for (const path of [...files.keys()].sort()) {
      const file = files.get(path)!;
      let copy = copies.get(file);
      if (!copy) {
        copy = new SimFile(file.survivingBytes(rng, options));
        copies.set(file, copy);
      }
      next.ns.plant(path, copy);
    }
    return next;
  }
}

function checkCrashOptions(options: CrashOptions): void {
  assert(options.mode === undefined || CRASH_MODES.includes(options.mode), `bad crash mode ${options.mode}`);
  const p = options.tornGarbageProbability;
  assert(p === undefined || (p >= 0 && p <= 1), `tornGarbageProbability must be in [0, 1], got ${p}`);
}

class SimFileHandle implements FileHandle {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly file: SimFile,
    private readonly writable: boolean,
    /** O_DSYNC: a writev is durable when it returns; a crash before that may drop or tear it. */
    readonly dsync: boolean,
    private readonly gate: Gate,
  ) {}

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    this.writevSync(buffers, position);
  }

  /** The same op as writev (counted, faulted and crashed alike), done before it returns. */
  writevSync(buffers: readonly Uint8Array[], position: number): void {
    assert(Number.isSafeInteger(position) && position >= 0, `bad writev position ${position}`);
    this.gate(
      'writev',
      this.path,
      undefined,
      (rng) => this.cutWrite(buffers, position, rng),
      (rule, rng) => this.failDsyncWrite(buffers, position, rule, rng),
    );
    this.usable('writev', true);
    this.file.write(position, buffers, this.dsync);
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return this.readSync(buffer, offset, length, position);
  }

  /** The same op as read, done before it returns. */
  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    assert(
      [offset, length, position].every((n) => Number.isSafeInteger(n) && n >= 0) &&
        offset + length <= buffer.byteLength,
      `bad read arguments offset=${offset} length=${length} position=${position}`,
    );
    this.gate('read', this.path);
    this.usable('read', false);
    return this.file.read(buffer, offset, length, position);
  }

  async datasync(): Promise<void> {
    this.gate('datasync', this.path, undefined, undefined, (rule, rng) => {
      if (this.closed) return;
      this.file.failSync(rule.syncLoss === 'seeded' ? rng : undefined);
    });
    this.usable('datasync', false);
    this.file.sync();
  }

  async truncate(size: number): Promise<void> {
    assert(Number.isSafeInteger(size) && size >= 0, `bad truncate size ${size}`);
    this.gate('truncate', this.path);
    this.usable('truncate', true);
    this.file.truncate(size);
  }

  async size(): Promise<number> {
    this.gate('size', this.path);
    this.usable('size', false);
    return this.file.size;
  }

  async close(): Promise<void> {
    this.gate('close', this.path);
    this.usable('close', false);
    this.closed = true;
  }

  private usable(op: SimOp, writes: boolean): void {
    if (this.closed || (writes && !this.writable)) throw simError('EBADF', op, this.path);
  }

  /**
   * A failed O_DSYNC write is a failed fdatasync: the bytes reached the page cache (reads
   * see them) and none, or the sector pieces the seed picks, ever reach the disk.
   */
  private failDsyncWrite(buffers: readonly Uint8Array[], position: number, rule: FaultRule, rng: Prng): void {
    if (!this.dsync || this.closed) return;
    this.file.write(position, buffers);
    this.file.failSync(rule.syncLoss === 'seeded' ? rng : undefined);
  }

  /** The write a crash interrupts: a random prefix of it reaches the page cache. */
  private cutWrite(buffers: readonly Uint8Array[], position: number, rng: Prng): void {
    if (this.closed || !this.writable) return;
    const total = buffers.reduce((n, b) => n + b.byteLength, 0);
    let left = rng.int(total + 1);
    const prefix: Uint8Array[] = [];
    for (const b of buffers) {
      const take = Math.min(left, b.byteLength);
      prefix.push(b.subarray(0, take));
      left -= take;
    }
    this.file.write(position, prefix);
  }
}
