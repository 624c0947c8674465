import type { FileHandle, FileSystem, OpenMode } from '../../src/fs/file-system.js';

/**
 * A file system that forwards everything to `inner`, letting a test replace methods of the
 * handles it opens (count bytes, hold an fdatasync ...). `wrap` gets each handle with its
 * path and returns the overrides.
 */
export function wrapFileSystem(inner: FileSystem, wrap: (path: string, h: FileHandle) => Partial<FileHandle>): FileSystem {
  return {
    async open(path: string, mode: OpenMode): Promise<FileHandle> {
      const h = await inner.open(path, mode);
      const base: FileHandle = {
        path: h.path,
        writev: (b, p) => h.writev(b, p),
        read: (b, o, l, p) => h.read(b, o, l, p),
        datasync: () => h.datasync(),
        truncate: (n) => h.truncate(n),
        size: () => h.size(),
        close: () => h.close(),
      };
      return { ...base, ...wrap(path, h) };
    },
    stat: (p) => inner.stat(p),
    readdir: (p) => inner.readdir(p),
    mkdir: (p) => inner.mkdir(p),
    rename: (a, b) => inner.rename(a, b),
    unlink: (p) => inner.unlink(p),
    syncDir: (p) => inner.syncDir(p),
    dirMutex: inner.dirMutex && ((d, describe) => inner.dirMutex!(d, describe)),
  };
}

/** A gate tests close to hold operations and open to let them go. */
export class Gate {
  private promise: Promise<void> | undefined;
  private release: (() => void) | undefined;
  /** Operations waiting at the gate right now. */
  waiting = 0;
  close(): void {
    this.promise ??= new Promise((r) => (this.release = r));
  }
  open(): void {
    this.release?.();
    this.promise = undefined;
    this.release = undefined;
  }
  async pass(): Promise<void> {
    if (this.promise === undefined) return;
    this.waiting++;
    await this.promise;
    this.waiting--;
  }
}
