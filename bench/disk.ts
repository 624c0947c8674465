import { closeSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchConfig } from './bench-config.js';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.js';

export interface DiskResult {
  dir: string;
  /** file system type magic (statfs f_type) and block size */
  fsType: string;
  blockBytes: number;
  /** 4 KiB appended at the end of a growing file, then fdatasync: what a log does */
  append4k: LatencySummary;
  /** 4 KiB overwritten inside a preallocated file, then fdatasync: no size change to sync */
  overwrite4k: LatencySummary;
  /** sequential 1 MiB writes of `bytes`, then one fdatasync */
  sequentialWrite: { bytes: number; seconds: number; mbPerSec: number };
}

const BLOCK = 4096;
const CHUNK = 1024 * 1024;
/** a few well-known statfs f_type values, for the report */
const FS_TYPES: Record<number, string> = { 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlayfs', 0x2fc12fc1: 'zfs' };

/** Workload 1: what the disk under the stores' directory can do, with plain synchronous syscalls. */
export function runDisk(cfg: BenchConfig, dataDir: string): DiskResult {
  const dir = join(dataDir, 'disk');
  mkdirSync(dir, { recursive: true });
  try {
    const st = statfsSync(dir);
    const block = Buffer.alloc(BLOCK, 0x5a);
    const append4k = syncLoop(join(dir, 'append.dat'), cfg, (fd, i) => writeSync(fd, block, 0, BLOCK, i * BLOCK));
    const preallocated = join(dir, 'overwrite.dat');
    const slots = 256;
    const pre = openSync(preallocated, 'w');
    for (let i = 0; i < slots; i++) writeSync(pre, block, 0, BLOCK, i * BLOCK);
    fsyncSync(pre);
    closeSync(pre);
    const overwrite4k = syncLoop(preallocated, cfg, (fd, i) => writeSync(fd, block, 0, BLOCK, (i % slots) * BLOCK), 'r+');
    return { dir, fsType: FS_TYPES[st.type] ?? `0x${st.type.toString(16)}`, blockBytes: st.bsize, append4k, overwrite4k, sequentialWrite: sequential(join(dir, 'seq.dat'), cfg.disk.bandwidthBytes) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function syncLoop(path: string, cfg: BenchConfig, write: (fd: number, i: number) => void, flags = 'w'): LatencySummary {
  const rec = new LatencyRecorder(cfg.disk.latencyOps);
  const fd = openSync(path, flags);
  try {
    const endAt = performance.now() + cfg.disk.latencyMsMax;
    for (let i = 0; i < cfg.disk.latencyOps && performance.now() < endAt; i++) {
      const t = performance.now();
      write(fd, i);
      fdatasyncSync(fd);
      rec.record(performance.now() - t);
    }
  } finally {
    closeSync(fd);
  }
  return rec.summary();
}

function sequential(path: string, bytes: number): DiskResult['sequentialWrite'] {
  const chunk = Buffer.alloc(CHUNK, 0xa5);
  const fd = openSync(path, 'w');
  const t = performance.now();
  try {
    for (let off = 0; off < bytes; off += CHUNK) writeSync(fd, chunk, 0, CHUNK, off);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - t) / 1000;
  return { bytes, seconds, mbPerSec: bytes / 1e6 / seconds };
}
