/**
 * The simulated directory tree: which name points at which file, now (current) and after
 * a power loss (durable). Creates, renames, unlinks and mkdirs change the current names at
 * once and queue on their parent directory until syncDir of that parent, as on Linux: a new
 * directory, and every file in it, is lost in a crash unless its parent was fsynced.
 */

import { posix } from 'node:path';
import type { Prng } from '../util/prng.js';
import type { CrashMode } from './sim-file.js';
import type { SimFile } from './sim-file.js';

type NsChange =
  | { kind: 'link'; path: string; file: SimFile }
  | { kind: 'unlink'; path: string }
  | { kind: 'rename'; from: string; to: string; file: SimFile }
  | { kind: 'mkdir'; path: string };

interface PendingChange {
  /** Global order, so changes kept from several directories replay in the order they happened. */
  readonly seq: number;
  readonly change: NsChange;
  /** A cross-directory rename queues on both; syncing either makes it durable (like a journal). */
  applied: boolean;
}

/** Strips `.`/`..` and trailing slashes so one file has one name. */
export function normalizePath(path: string): string {
  const p = posix.normalize(path);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export function parentDir(path: string): string {
  return posix.dirname(path);
}

export class SimNamespace {
  private readonly dirs = new Set<string>(['/', '.']);
  private readonly durableDirs = new Set<string>(['/', '.']);
  private readonly current = new Map<string, SimFile>();
  private readonly durable = new Map<string, SimFile>();
  private readonly pending = new Map<string, PendingChange[]>();
  private seq = 0;

  file(path: string): SimFile | undefined {
    return this.current.get(path);
  }

  /** The file a 'drop-all' crash leaves at `path` (its directory must be durable too). */
  durableFile(path: string): SimFile | undefined {
    return this.durableDirs.has(parentDir(path)) ? this.durable.get(path) : undefined;
  }

  isDir(path: string): boolean {
    return this.dirs.has(path);
  }

  /** Adds `dir` and its missing parents, durable at once (test planting, survivors). */
  addDir(dir: string): void {
    for (let d = dir; !this.dirs.has(d) || !this.durableDirs.has(d); d = parentDir(d)) {
      this.dirs.add(d);
      this.durableDirs.add(d);
    }
  }

  /** mkdir of one directory whose parent exists: durable once the parent is synced. */
  mkdir(dir: string): void {
    this.dirs.add(dir);
    this.queue({ kind: 'mkdir', path: dir });
  }

  /** Names directly inside `dir` (files and directories), sorted. */
  list(dir: string): string[] {
    const names: string[] = [];
    for (const p of [...this.current.keys(), ...this.dirs]) {
      if (p !== dir && parentDir(p) === dir) names.push(posix.basename(p));
    }
    return names.sort();
  }

  create(path: string, file: SimFile): void {
    this.current.set(path, file);
    this.queue({ kind: 'link', path, file });
  }

  unlink(path: string): void {
    this.current.delete(path);
    this.queue({ kind: 'unlink', path });
  }

  /** POSIX rename: replaces `to` if it exists. */
  rename(from: string, to: string): void {
    const file = this.current.get(from)!;
    this.current.delete(from);
    this.current.set(to, file);
    this.queue({ kind: 'rename', from, to, file });
  }

  /** Links `path` durably at once, bypassing the queue (test planting). */
  plant(path: string, file: SimFile): void {
    this.current.set(path, file);
    this.durable.set(path, file);
  }

  syncDir(dir: string): void {
    for (const p of this.pending.get(dir) ?? []) {
      if (p.applied) continue;
      applyChange(this.durable, this.durableDirs, p.change);
      p.applied = true;
    }
    this.pending.delete(dir);
  }

  /**
   * The names a crash leaves: per directory, a random in-order prefix of its queued changes.
   * A directory whose own entry was lost takes its files with it.
   */
  survivors(rng: Prng, mode: CrashMode): { dirs: string[]; files: Map<string, SimFile> } {
    if (mode === 'keep-all') return { dirs: [...this.dirs].sort(), files: new Map(this.current) };
    const files = new Map(this.durable);
    const dirs = new Set(this.durableDirs);
    for (const p of this.keptChanges(rng, mode)) applyChange(files, dirs, p.change);
    const reachable = (d: string): boolean => d === '/' || d === '.' || (dirs.has(d) && reachable(parentDir(d)));
    for (const d of dirs) if (!reachable(d)) dirs.delete(d);
    for (const path of files.keys()) if (!dirs.has(parentDir(path))) files.delete(path);
    return { dirs: [...dirs].sort(), files };
  }

  private keptChanges(rng: Prng, mode: CrashMode): PendingChange[] {
    const kept = new Set<PendingChange>();
    if (mode === 'tear') {
      for (const dir of [...this.pending.keys()].sort()) {
        const list = this.pending.get(dir)!.filter((p) => !p.applied);
        const keep = rng.int(list.length + 1);
        for (const p of list.slice(0, keep)) kept.add(p);
      }
    }
    return [...kept].sort((a, b) => a.seq - b.seq);
  }

  private queue(change: NsChange): void {
    const entry: PendingChange = { seq: ++this.seq, change, applied: false };
    const dirs =
      change.kind === 'rename' ? new Set([parentDir(change.from), parentDir(change.to)]) : [parentDir(change.path)];
    for (const dir of dirs) {
      const list = this.pending.get(dir);
      if (list) list.push(entry);
      else this.pending.set(dir, [entry]);
    }
  }
}

function applyChange(names: Map<string, SimFile>, dirs: Set<string>, change: NsChange): void {
  if (change.kind === 'mkdir') {
    dirs.add(change.path);
  } else if (change.kind === 'link') {
    names.set(change.path, change.file);
  } else if (change.kind === 'unlink') {
    names.delete(change.path);
  } else {
    names.delete(change.from);
    names.set(change.to, change.file);
  }
}
