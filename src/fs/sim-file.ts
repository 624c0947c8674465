/**
 * One simulated file (an inode): its current contents, what reads see, and its durable
 * contents, what survives a power loss, plus the ordered writes and truncates between the
 * two. Names live in the namespace (sim-namespace.ts), so an unlinked file stays usable
 * through its open handles, like POSIX.
 */

import type { Prng } from '../util/prng.js';
import { SimBuffer } from './sim-buffer.js';

/** A disk writes whole sectors atomically at best; a torn write breaks at these boundaries. */
export const SIM_SECTOR_BYTES = 512;

export type CrashMode =
  /** only durable state survives (every unsynced write lost) */
  | 'drop-all'
  /** everything survives (a process kill: the page cache is written out) */
  | 'keep-all'
  /** each unsynced sector piece is applied, dropped or torn at random (power loss) */
  | 'tear';

export interface CrashOptions {
  /** Default 'tear'. */
  mode?: CrashMode;
  /** Chance that the unwritten rest of a torn sector piece becomes random garbage. Default 0.05. */
  tornGarbageProbability?: number;
}

export const DEFAULT_TORN_GARBAGE_PROBABILITY = 0.05;

/** `durable`: an O_DSYNC write, already in the durable copy, kept here for its order only. */
type PendingOp = { kind: 'write'; position: number; data: Uint8Array; durable: boolean } | { kind: 'truncate'; size: number };

export class SimFile {
  private readonly current: SimBuffer;
  private durable: SimBuffer;
  private pending: PendingOp[] = [];

  /** A file whose contents are `initial`, already durable. */
  constructor(initial?: Uint8Array) {
    this.current = new SimBuffer(initial);
    this.durable = new SimBuffer(initial);
  }

  get size(): number {
    return this.current.size;
  }

  /** Unsynced writes and truncates, for tests of the simulator itself. */
  get pendingOps(): number {
    return this.pending.length;
  }

  /**
   * pwritev of `buffers` back to back at `position`. `durable` (an O_DSYNC write that
   * returned): these bytes, and the size they extend the file to, are durable now, as an
   * fdatasync of their range would make them; earlier unsynced ops stay pending (Linux syncs
   * the written range only). A gap below them that only pending writes fill reads as zeros
   * after a crash that drops those writes. Behind pending ops it stays in their order, always
   * applied, so an older pending write a crash keeps never lands over it.
   */
  write(position: number, buffers: readonly Uint8Array[], durable = false): void {
    // Copy: the caller may reuse its buffers, and the pending op must keep what was written.
    const data = concat(buffers);
    if (data.byteLength === 0) return;
    this.current.write(position, data);
    if (durable) this.durable.write(position, data);
    if (!durable || this.pending.length > 0) this.pending.push({ kind: 'write', position, data, durable });
  }

  truncate(size: number): void {
    this.current.truncate(size);
    this.pending.push({ kind: 'truncate', size });
  }

  read(dst: Uint8Array, offset: number, length: number, position: number): number {
    return this.current.read(dst, offset, length, position);
  }

  /** fdatasync: replays the pending ops onto the durable copy (cost = bytes written since the last sync). */
  sync(): void {
    for (const op of this.pending) applyOp(this.durable, op);
    this.pending = [];
  }

  /**
   * A failed fdatasync, as Linux may fail one: writeback stopped part way and the pages
   * were marked clean anyway. Reads still see every write, but the pending ones never reach
   * the disk through a later sync: none of them (no `rng`), or the sector pieces `rng` picks.
   */
  failSync(rng?: Prng): void {
    if (rng !== undefined) {
      for (const op of this.pending) {
        if (op.kind === 'truncate') {
          if (rng.bool()) applyOp(this.durable, op);
        } else if (op.durable) {
          applyOp(this.durable, op);
        } else {
          forEachSector(op.position, op.data, (start, piece) => {
            if (rng.bool()) this.durable.write(start, piece);
          });
        }
      }
    }
    this.pending = [];
  }

  /** Replaces current and durable contents at once (test planting). */
  replace(bytes: Uint8Array): void {
    this.current.truncate(0);
    this.current.write(0, bytes);
    this.durable = new SimBuffer(bytes);
    this.pending = [];
  }

  currentBytes(): Uint8Array {
    return this.current.snapshot();
  }

  durableBytes(): Uint8Array {
    return this.durable.snapshot();
  }

  /** The contents a power loss leaves, chosen by `rng` in 'tear' mode. */
  survivingBytes(rng: Prng, options: CrashOptions): Uint8Array {
    const mode = options.mode ?? 'tear';
    if (mode === 'drop-all') return this.durableBytes();
    if (mode === 'keep-all') return this.currentBytes();
    const garbageP = options.tornGarbageProbability ?? DEFAULT_TORN_GARBAGE_PROBABILITY;
    const out = this.durable.clone();
    for (const op of this.pending) {
      if (op.kind === 'truncate') {
        if (rng.bool()) out.truncate(op.size);
      } else if (op.durable) {
        out.write(op.position, op.data);
      } else {
        tearWrite(out, op.position, op.data, rng, garbageP);
      }
    }
    return out.snapshot();
  }
}

function concat(buffers: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

function applyOp(buffer: SimBuffer, op: PendingOp): void {
  if (op.kind === 'write') buffer.write(op.position, op.data);
  else buffer.truncate(op.size);
}

/** Calls `f` for each piece of a write split at absolute sector boundaries, in order. */
function forEachSector(position: number, data: Uint8Array, f: (start: number, piece: Uint8Array) => void): void {
  const end = position + data.byteLength;
  let start = position;
  while (start < end) {
    const stop = Math.min(end, (Math.floor(start / SIM_SECTOR_BYTES) + 1) * SIM_SECTOR_BYTES);
    f(start, data.subarray(start - position, stop - position));
    start = stop;
  }
}

/** Splits a write at absolute sector boundaries; each piece is applied, dropped or torn. */
function tearWrite(out: SimBuffer, position: number, data: Uint8Array, rng: Prng, garbageP: number): void {
  forEachSector(position, data, (start, piece) => {
    const outcome = rng.int(3);
    if (outcome === 0) out.write(start, piece);
    else if (outcome === 2) tearPiece(out, start, piece, rng, garbageP);
    // outcome 1: dropped, the durable bytes stay (and an extending piece does not extend).
  });
}

/** A random-length prefix lands; the rest keeps the old bytes, or rarely turns to garbage. */
function tearPiece(out: SimBuffer, start: number, piece: Uint8Array, rng: Prng, garbageP: number): void {
  const landed = rng.int(piece.byteLength);
  out.write(start, piece.subarray(0, landed));
  if (rng.bool(garbageP)) out.write(start + landed, rng.bytes(piece.byteLength - landed));
}
