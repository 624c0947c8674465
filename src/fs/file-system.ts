/**
 * The file layer. Every I/O of the engine goes through this interface so tests can swap
 * in the simulated, fault-injecting layer (sim-file-system.ts). Two implementations:
 * node-file-system.ts (node:fs) and sim-file-system.ts.
 *
 * Errors: implementations reject with an Error carrying an errno-style `code`
 * ('EIO', 'ENOSPC', 'EBADF', 'ENOENT', 'EEXIST' ...), like node:fs does.
 */

export interface FileHandle {
  readonly path: string;
  /**
   * True when opened with `dsync` (O_DSYNC) and the layer honours it: each writev is then
   * durable when it resolves (its bytes and the size needed to read them back, as if an
   * fdatasync of its range followed it), and a failed one is a failed fdatasync. Absent or
   * false: a writev is durable only after a datasync (a wrapper that drops the flag is safe).
   */
  readonly dsync?: boolean;
  /** Writes all of `buffers`, back to back, starting at `position` (pwritev). */
  writev(buffers: readonly Uint8Array[], position: number): Promise<void>;
  /**
   * Optional: writev made on the calling thread, as one system call, instead of a trip
   * through a thread pool; same effect and errors (thrown). For small writes into the page
   * cache, where the trip costs several times the call (docs/benchmarks.md, "Small writes
   * on the event loop's thread"). A layer without it is written through writev.
   */
  writevSync?(buffers: readonly Uint8Array[], position: number): void;
  /** Optional: read made on the calling thread (see writevSync); returns the count read. */
  readSync?(buffer: Uint8Array, offset: number, length: number, position: number): number;
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; resolves the count read (0 at EOF). */
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** Makes every write so far durable (data and the file size). */
  datasync(): Promise<void>;
  truncate(size: number): Promise<void>;
  /** Current size in bytes (including writes not yet durable). */
  size(): Promise<number>;
  close(): Promise<void>;
}

export type OpenMode =
  /** read only; the file must exist */
  | 'r'
  /** read and write; the file must exist */
  | 'r+'
  /** read and write; created (mode 0600) when missing */
  | 'create'
  /** read and write; created (mode 0600), rejects EEXIST when the path exists (O_EXCL) */
  | 'create-new';

/** A mutex on a directory that the kernel drops the instant its process dies (kill -9 included). */
export interface DirMutex {
  release(): Promise<void>;
}

export interface OpenOptions {
  /** Open with O_DSYNC where the platform has it (FileHandle.dsync says whether it took). */
  dsync?: boolean;
}

export interface FileSystem {
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle>;
  /** undefined when the path does not exist. */
  stat(path: string): Promise<{ size: number; mode: number } | undefined>;
  readdir(dir: string): Promise<string[]>;
  /** Creates the directory and its parents (mode 0700) when missing. */
  mkdir(dir: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes creates, renames and unlinks in `dir` durable. */
  syncDir(dir: string): Promise<void>;
  /**
   * Optional: takes the process-lifetime mutex of `dir` (docs/format.md §6). Rejects
   * with code 'EADDRINUSE' and `holder` (the string the holder passed as `describe`) while
   * another owner, in this process or another, holds it. Resolves undefined where the
   * platform has no such mutex; absent on layers that model one process (the simulator).
   */
  dirMutex?(dir: string, describe: string): Promise<DirMutex | undefined>;
}
