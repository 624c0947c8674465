import { promises as fsp, constants as C, readSync, writevSync } from 'node:fs';
import type { DirMutex, FileHandle, FileSystem, OpenMode, OpenOptions } from './file-system.js';
import { acquireDirMutex } from './node-dir-mutex.js';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** O_DSYNC, or undefined where node:fs has none (Windows): a dsync open is then a plain one. */
const O_DSYNC: number | undefined = C.O_DSYNC;

class NodeFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    readonly dsync: boolean,
  ) {}

  async writev(buffers: readonly Uint8Array[], position: number): Promise<void> {
    let pos = position;
    let rest = buffers.filter((b) => b.byteLength > 0);
    while (rest.length > 0) {
      const { bytesWritten } = await this.fh.writev(rest as Uint8Array[], pos);
      pos += bytesWritten;
      rest = skipBytes(rest, bytesWritten);
    }
  }

  writevSync(buffers: readonly Uint8Array[], position: number): void {
    let pos = position;
    let rest = buffers.filter((b) => b.byteLength > 0);
    while (rest.length > 0) {
      const written = writevSync(this.fh.fd, rest as Uint8Array[], pos);
      pos += written;
      rest = skipBytes(rest, written);
    }
  }

  readSync(buffer: Uint8Array, offset: number, length: number, position: number): number {
    let total = 0;
    while (total < length) {
      const got = readSync(this.fh.fd, buffer, offset + total, length - total, position + total);
      if (got === 0) break;
      total += got;
    }
    return total;
  }

  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    let total = 0;
    while (total < length) {
      const { bytesRead } = await this.fh.read(buffer, offset + total, length - total, position + total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** Drops the first `n` bytes of a list of buffers (after a short pwritev). */
function skipBytes(buffers: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i]!.byteLength) n -= buffers[i++]!.byteLength;
  const out = buffers.slice(i);
  if (out.length > 0 && n > 0) out[0] = out[0]!.subarray(n);
  return out;
}

export class NodeFileSystem implements FileSystem {
  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const flags = mode === 'r' ? C.O_RDONLY : mode === 'r+' ? C.O_RDWR : mode === 'create' ? C.O_RDWR | C.O_CREAT : C.O_RDWR | C.O_CREAT | C.O_EXCL;
    const dsync = options?.dsync === true && mode !== 'r' && O_DSYNC !== undefined;
    const fh = await fsp.open(path, dsync ? flags | O_DSYNC : flags, FILE_MODE);
    return new NodeFileHandle(path, fh, dsync);
  }

  async stat(path: string): Promise<{ size: number; mode: number } | undefined> {
    try {
      const s = await fsp.stat(path);
      return { size: s.size, mode: s.mode };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  readdir(dir: string): Promise<string[]> {
    return fsp.readdir(dir);
  }

  async mkdir(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
  }

  rename(from: string, to: string): Promise<void> {
    return fsp.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return fsp.unlink(path);
  }

  async syncDir(dir: string): Promise<void> {
    const fh = await fsp.open(dir, C.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  dirMutex(dir: string, describe: string): Promise<DirMutex | undefined> {
    return acquireDirMutex(dir, describe);
  }
}

export const nodeFileSystem: FileSystem = new NodeFileSystem();
