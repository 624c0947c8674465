// The simulated file layer (src/fs/sim-file-system.ts) against a reference model (kind: crash
// simulation): random writes, truncates, syncs and crashes from a seed; after each crash every
// byte is either durable or one a later unsynced write could have left.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle } from '../../src/fs/file-system.js';
import { SimFileSystem, type CrashMode } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';

type Pending = { pos: number; data: Uint8Array } | { size: number };
interface ModelFile {
  path: string;
  h: FileHandle;
  durable: Uint8Array;
  current: Uint8Array;
  pending: Pending[];
}

function modelWrite(m: ModelFile, pos: number, data: Uint8Array): void {
  const next = new Uint8Array(Math.max(m.current.length, pos + data.length));
  next.set(m.current);
  next.set(data, pos);
  m.current = next;
  m.pending.push({ pos, data });
}

function modelTruncate(m: ModelFile, size: number): void {
  const next = new Uint8Array(size);
  next.set(m.current.subarray(0, size));
  m.current = next;
  m.pending.push({ size });
}

/** Every surviving byte is the durable byte or one written after it; untouched synced bytes are intact. */
function checkTorn(got: Uint8Array, m: ModelFile, garbage: boolean, ctx: string): void {
  const truncs = m.pending.flatMap((p) => ('size' in p ? [p.size] : []));
  const writes = m.pending.flatMap((p) => ('data' in p ? [p] : []));
  const zeroFrom = Math.min(m.durable.length, ...truncs);
  const maxEnd = Math.max(m.durable.length, ...truncs, ...writes.map((w) => w.pos + w.data.length));
  assert.ok(got.length <= maxEnd, `${ctx}: size ${got.length} > ${maxEnd}`);
  if (truncs.length === 0) assert.ok(got.length >= m.durable.length, `${ctx}: synced size lost`);
  const ok = got.map((b, i) => Number(b === (m.durable[i] ?? 0) || (b === 0 && i >= zeroFrom)));
  for (const w of writes) {
    for (let i = w.pos; i < Math.min(got.length, w.pos + w.data.length); i++) {
      if (garbage || got[i] === w.data[i - w.pos]) ok[i] = 1;
    }
  }
  const bad = ok.indexOf(0);
  assert.equal(bad, -1, `${ctx}: byte ${bad} = ${got[bad]} is neither durable nor written`);
}

async function runModel(seed: number, garbage: boolean): Promise<void> {
  const r = new Prng(seed);
  let fs = new SimFileSystem();
  await fs.mkdir('/m');
  await fs.syncDir('/');
  const files: ModelFile[] = [];
  for (const path of ['/m/a', '/m/b']) {
    files.push({ path, h: await fs.open(path, 'create'), durable: new Uint8Array(0), current: new Uint8Array(0), pending: [] });
  }
  await fs.syncDir('/m');
  const options = { tornGarbageProbability: garbage ? 0.3 : 0 };

  const recover = async (mode: CrashMode, ctx: string): Promise<void> => {
    fs = fs.crashed!;
    for (const m of files) {
      const got = fs.readFileSync(m.path);
      if (mode === 'drop-all') assert.deepEqual(got, m.durable, ctx);
      else if (mode === 'keep-all') assert.deepEqual(got, m.current, ctx);
      else checkTorn(got, m, garbage, `${ctx} ${m.path}`);
      assert.deepEqual(fs.durableFileSync(m.path), got);
      Object.assign(m, { h: await fs.open(m.path, 'r+'), durable: got, current: got.slice(), pending: [] });
    }
  };

  for (let step = 0; step < 300; step++) {
    const m = r.pick(files);
    const ctx = `seed ${seed} step ${step}`;
    const x = r.float();
    try {
      if (x < 0.5) {
        const pos = r.int(Math.min(m.current.length + 1000, 20_000));
        const data = r.bytes(1 + r.int(1500));
        const cut = r.int(data.length + 1);
        try {
          await m.h.writev([data.subarray(0, cut), data.subarray(cut)], pos);
        } finally {
          modelWrite(m, pos, data); // a write cut by a crash may land any prefix
        }
      } else if (x < 0.55) {
        const size = r.int(m.current.length + 600);
        await m.h.truncate(size);
        modelTruncate(m, size);
      } else if (x < 0.7) {
        await m.h.datasync();
        Object.assign(m, { durable: m.current.slice(), pending: [] });
      } else if (x < 0.85) {
        const pos = r.int(m.current.length + 10);
        const buf = new Uint8Array(r.int(3000));
        const n = await m.h.read(buf, 0, buf.length, pos);
        assert.deepEqual(buf.subarray(0, n), m.current.subarray(pos, pos + buf.length), ctx);
      } else if (x < 0.93) {
        const mode = r.pick(['tear', 'tear', 'drop-all', 'keep-all'] as const);
        fs.crash(r.nextU32(), { ...options, mode });
        await recover(mode, `${ctx} crash ${mode}`);
      } else if (fs.crashed === undefined) {
        fs.crashAtOp(1 + r.int(6), r.nextU32(), options);
      }
    } catch (e) {
      if (!(e instanceof Error && e.message.includes('simulated crash'))) throw e;
      await recover('tear', `${ctx} crashAtOp`);
    }
  }
}

describe('SimFileSystem against a reference model (crash simulation)', () => {
  it('random writes, truncates, syncs and crashes leave only durable or later-written bytes', async () => {
    for (let seed = 1; seed <= 30; seed++) await runModel(seed, false);
  });

  it('with torn garbage, every byte outside unsynced writes is still durable', async () => {
    for (let seed = 101; seed <= 115; seed++) await runModel(seed, true);
  });
});
