// Unit and crash-simulation tests of the simulated file layer (src/fs/sim-file-system.ts);
// its randomized check against a reference model is sim-file-system-model.test.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FileHandle } from '../../src/fs/file-system.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import type { CrashMode } from '../../src/fs/sim-file-system.js';
import { Prng } from '../../src/util/prng.js';

const SECTOR = 512;
const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const MODES: readonly CrashMode[] = ['drop-all', 'keep-all', 'tear'];

/** A store dir with one empty file whose name (and the dir's) is durable. */
async function fresh(): Promise<{ fs: SimFileSystem; h: FileHandle }> {
  const fs = new SimFileSystem();
  await fs.mkdir('/d');
  await fs.syncDir('/');
  const h = await fs.open('/d/f', 'create');
  await fs.syncDir('/d');
  return { fs, h };
}

function errno(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.equal((e as { code?: unknown }).code, code);
    if (message) assert.match((e as Error).message, message);
    return true;
  };
}
const crashed = errno('EIO', /simulated crash/);

describe('SimFileSystem data durability (crash simulation)', () => {
  it('unsynced writes vanish under drop-all and survive keep-all', async () => {
    for (const [mode, want] of [['drop-all', new Uint8Array(0)], ['keep-all', text('hello')]] as const) {
      const { fs, h } = await fresh();
      await h.writev([text('hel'), text('lo')], 0);
      assert.deepEqual(fs.crash(1, { mode }).readFileSync('/d/f'), want);
    }
  });

  it('synced writes survive every crash mode, whatever else is in flight', async () => {
    for (const mode of MODES) {
      for (let seed = 0; seed < 20; seed++) {
        const { fs, h } = await fresh();
        await h.writev([bytes(3000, 1)], 0);
        await h.datasync();
        await h.writev([bytes(2000, 2)], 3000);
        const got = fs.crash(seed, { mode }).readFileSync('/d/f');
        assert.deepEqual(got.subarray(0, 3000), bytes(3000, 1), `${mode} seed ${seed}`);
      }
    }
  });

  it('an unsynced truncate is undone by drop-all, kept by keep-all, durable after datasync', async () => {
    const run = async (sync: boolean, mode: CrashMode): Promise<number> => {
      const { fs, h } = await fresh();
      await h.writev([bytes(1000, 9)], 0);
      await h.datasync();
      await h.truncate(10);
      if (sync) await h.datasync();
      return fs.crash(5, { mode }).readFileSync('/d/f').length;
    };
    assert.equal(await run(false, 'drop-all'), 1000);
    assert.equal(await run(false, 'keep-all'), 10);
    assert.equal(await run(true, 'drop-all'), 10);
  });

  it('tearing applies each unsynced truncate or not, in order with the writes', async () => {
    const sizes = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      const { fs, h } = await fresh();
      await h.writev([bytes(100, 1)], 0);
      await h.datasync();
      await h.truncate(10);
      await h.truncate(50);
      sizes.add(fs.crash(seed).readFileSync('/d/f').length);
    }
    assert.deepEqual([...sizes].sort((a, b) => a - b), [10, 50, 100]);
  });

  it('tearing splits each unsynced write at absolute 512-byte sectors: per piece a new prefix, old rest', async () => {
    const [from, to] = [700, 3300];
    let mixed = 0;
    let torn = 0;
    for (let seed = 0; seed < 200; seed++) {
      const { fs, h } = await fresh();
      await h.writev([bytes(4096, 0xaa)], 0);
      await h.datasync();
      await h.writev([bytes(to - from, 0xbb)], from);
      const got = fs.crash(seed, { tornGarbageProbability: 0 }).readFileSync('/d/f');
      assert.equal(got.length, 4096);
      const newPerPiece: number[] = [];
      for (let s = from; s < to; s = (Math.floor(s / SECTOR) + 1) * SECTOR) {
        const e = Math.min(to, (Math.floor(s / SECTOR) + 1) * SECTOR);
        let k = s;
        while (k < e && got[k] === 0xbb) k++;
        for (let i = k; i < e; i++) assert.equal(got[i], 0xaa, `seed ${seed}: old bytes after the landed prefix`);
        newPerPiece.push((k - s) / (e - s));
        if (k > s && k < e) torn++;
      }
      for (let i = 0; i < 4096; i++) if (i < from || i >= to) assert.equal(got[i], 0xaa);
      if (newPerPiece.includes(1) && newPerPiece.includes(0)) mixed++;
    }
    assert.ok(mixed > 10, 'sectors of one write land independently');
    assert.ok(torn > 10, 'some sectors are torn mid-way');
  });

  it('the rest of a torn sector can turn to garbage', async () => {
    let garbage = 0;
    for (let seed = 0; seed < 20; seed++) {
      const { fs, h } = await fresh();
      await h.writev([bytes(SECTOR * 4, 0xaa)], 0);
      await h.datasync();
      await h.writev([bytes(SECTOR * 4, 0xbb)], 0);
      const got = fs.crash(seed, { tornGarbageProbability: 1 }).readFileSync('/d/f');
      garbage += got.filter((b) => b !== 0xaa && b !== 0xbb).length;
    }
    assert.ok(garbage > 0);
  });

  it('tearing is deterministic from the seed', async () => {
    const crashWith = async (seed: number): Promise<string> => {
      const { fs, h } = await fresh();
      const r = new Prng(99);
      for (let i = 0; i < 20; i++) await h.writev([r.bytes(1 + r.int(1500))], r.int(8000));
      return Buffer.from(fs.crash(seed).readFileSync('/d/f')).toString('hex');
    };
    assert.equal(await crashWith(7), await crashWith(7));
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 20; seed++) outcomes.add(await crashWith(seed));
    assert.ok(outcomes.size > 10, `only ${outcomes.size} distinct outcomes`);
  });

  it('a dropped extending write leaves the file shorter, or zeros before a later landed piece', async () => {
    const seen = { shorter: false, zeroGap: false };
    for (let seed = 0; seed < 50; seed++) {
      const { fs, h } = await fresh();
      await h.writev([bytes(SECTOR * 4, 0xcc)], 0);
      const got = fs.crash(seed, { tornGarbageProbability: 0 }).readFileSync('/d/f');
      assert.ok(got.every((b) => b === 0xcc || b === 0));
      assert.ok(got.length === 0 || got[got.length - 1] === 0xcc, 'a dropped piece does not extend the file');
      seen.shorter ||= got.length < SECTOR * 4;
      seen.zeroGap ||= got.includes(0);
    }
    assert.deepEqual(seen, { shorter: true, zeroGap: true });
  });
});

describe('SimFileSystem directory durability (crash simulation)', () => {
  it('an unsynced create vanishes with its synced data; after syncDir it survives', async () => {
    for (const synced of [false, true]) {
      for (let seed = 0; seed < 10; seed++) {
        const { fs } = await fresh();
        const g = await fs.open('/d/g', 'create');
        await g.writev([text('data')], 0);
        await g.datasync();
        if (synced) await fs.syncDir('/d');
        const after = fs.crash(seed, { mode: synced ? 'tear' : 'drop-all' });
        assert.equal(after.exists('/d/g'), synced);
        if (synced) assert.deepEqual(after.readFileSync('/d/g'), text('data'));
      }
    }
  });

  it('an unsynced unlink is undone by a crash; a synced one is not', async () => {
    for (const synced of [false, true]) {
      const { fs, h } = await fresh();
      await h.writev([text('keep')], 0);
      await h.datasync();
      await fs.unlink('/d/f');
      assert.equal(fs.exists('/d/f'), false);
      if (synced) await fs.syncDir('/d');
      const after = fs.crash(3, { mode: 'drop-all' });
      assert.equal(after.exists('/d/f'), !synced);
      if (!synced) assert.deepEqual(after.readFileSync('/d/f'), text('keep'));
    }
  });

  it('rename replaces the target at once; unsynced it is undone, synced it survives', async () => {
    for (const synced of [false, true]) {
      const { fs } = await fresh();
      fs.writeFileSync('/d/tmp', text('new'));
      fs.writeFileSync('/d/final', text('old'));
      await fs.rename('/d/tmp', '/d/final');
      assert.deepEqual(fs.listSync('/d'), ['f', 'final']);
      assert.deepEqual(fs.readFileSync('/d/final'), text('new'));
      if (synced) await fs.syncDir('/d');
      const after = fs.crash(1, { mode: 'drop-all' });
      assert.deepEqual(after.readFileSync('/d/final'), text(synced ? 'new' : 'old'));
      assert.equal(after.exists('/d/tmp'), !synced);
    }
    const { fs } = await fresh();
    await assert.rejects(fs.rename('/d/missing', '/d/x'), errno('ENOENT'));
    await assert.rejects(fs.rename('/d/f', '/nodir/x'), errno('ENOENT'));
  });

  it('tear keeps an in-order prefix of each directory\'s unsynced changes', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const { fs } = await fresh();
      for (const name of ['x', 'y', 'z']) await (await fs.open(`/d/${name}`, 'create')).close();
      outcomes.add(fs.crash(seed).listSync('/d').join(','));
    }
    assert.deepEqual([...outcomes].sort(), ['f', 'f,x', 'f,x,y', 'f,x,y,z']);
  });
});

describe('SimFileSystem crashes at an operation (crash simulation)', () => {
  it('crashAtOp stops everything at exactly op n and crashed gives the survivor', async () => {
    const { fs, h } = await fresh();
    const before = fs.opCount;
    fs.crashAtOp(3, 11, { mode: 'keep-all' });
    await h.writev([text('ab')], 0);
    await h.datasync();
    assert.equal(fs.crashed === undefined, true);
    await assert.rejects(h.size(), crashed);
    assert.equal(fs.opCount, before + 3);
    assert.equal(fs.opCounts.size, 1);
    await assert.rejects(h.writev([text('c')], 2), crashed);
    await assert.rejects(fs.stat('/d/f'), crashed);
    assert.equal(fs.opCount, before + 3, 'ops after the crash do not run');
    assert.deepEqual(fs.crashed?.readFileSync('/d/f'), text('ab'));
  });

  it('a crash at a writev lands a random prefix of it', async () => {
    const cuts = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      const { fs, h } = await fresh();
      fs.crashAtOp(1, seed, { mode: 'keep-all' });
      await assert.rejects(h.writev([bytes(600, 1), bytes(400, 2)], 0), crashed);
      const got = fs.crashed!.readFileSync('/d/f');
      const want = new Uint8Array(1000);
      want.fill(1, 0, 600).fill(2, 600);
      assert.deepEqual(got, want.subarray(0, got.length));
      cuts.add(got.length);
    }
    assert.ok(cuts.size > 10 && [...cuts].some((n) => n > 0 && n < 1000));
  });

  it('a crash kills the instance and every handle it opened', async () => {
    const { fs, h } = await fresh();
    const after = fs.crash(1);
    await assert.rejects(h.read(new Uint8Array(1), 0, 1, 0), crashed);
    await assert.rejects(h.close(), crashed);
    await assert.rejects(fs.open('/d/f', 'r'), crashed);
    await assert.rejects(fs.syncDir('/d'), crashed);
    assert.throws(() => fs.crash(2), crashed);
    assert.equal(fs.crashed, after);
    assert.deepEqual(await after.readdir('/d'), ['f']);
  });
});

describe('SimFileSystem injected faults (unit)', () => {
  it('fails exactly the nth matching call, once, and the failed call changes nothing', async () => {
    const { fs, h } = await fresh();
    const other = await fs.open('/d/other', 'create');
    fs.injectFault({ op: 'writev', path: '/d/f', nth: 2, code: 'ENOSPC' });
    await other.writev([text('zz')], 0);
    await h.writev([text('a')], 0);
    await assert.rejects(h.writev([text('b')], 1), (e: unknown) => {
      assert.deepEqual({ ...(e as object) }, { code: 'ENOSPC', errno: -28, syscall: 'writev', path: '/d/f' });
      return true;
    });
    await h.writev([text('c')], 1);
    assert.deepEqual(fs.readFileSync('/d/f'), text('ac'));
    assert.deepEqual(fs.crash(1, { mode: 'keep-all' }).readFileSync('/d/f'), text('ac'));
  });

  it('a persistent fault fails the nth and every later matching call until cleared', async () => {
    const { fs, h } = await fresh();
    fs.injectFault({ op: ['datasync', 'read'], nth: 2, code: 'EIO', persistent: true });
    await h.datasync();
    for (let i = 0; i < 3; i++) await assert.rejects(h.datasync(), errno('EIO'));
    await assert.rejects(h.read(new Uint8Array(1), 0, 1, 0), errno('EIO'));
    fs.clearFaults();
    await h.datasync();
  });

  it('failed namespace, sync and truncate calls change nothing', async () => {
    const { fs, h } = await fresh();
    await h.writev([text('abc')], 0);
    fs.injectFault({ op: ['open', 'rename', 'unlink', 'truncate', 'datasync', 'syncDir'], code: 'EIO', persistent: true });
    await assert.rejects(fs.open('/d/new', 'create'), errno('EIO'));
    await assert.rejects(fs.rename('/d/x', '/d/f'), (e: unknown) => (e as { dest?: string }).dest === '/d/f');
    await assert.rejects(fs.unlink('/d/f'), errno('EIO'));
    await assert.rejects(h.truncate(0), errno('EIO'));
    await assert.rejects(h.datasync(), errno('EIO'));
    await assert.rejects(fs.syncDir('/d'), errno('EIO'));
    assert.deepEqual(fs.listSync('/d'), ['f']);
    assert.deepEqual(fs.readFileSync('/d/f'), text('abc'));
    assert.deepEqual(fs.durableFileSync('/d/f'), new Uint8Array(0), 'the failed datasync made nothing durable');
  });

  it('a path filter matches a substring of either rename path', async () => {
    const { fs } = await fresh();
    fs.injectFault({ op: 'rename', path: 'final', code: 'EIO' });
    await fs.stat('/d/final');
    await assert.rejects(fs.rename('/d/f', '/d/final'), errno('EIO'));
    assert.ok(fs.exists('/d/f'));
  });
});

describe('SimFileSystem handles and namespace (unit)', () => {
  it('close twice and use after close reject EBADF; a read-only handle cannot write', async () => {
    const { fs, h } = await fresh();
    await h.close();
    await assert.rejects(h.close(), errno('EBADF'));
    await assert.rejects(h.size(), errno('EBADF'));
    await assert.rejects(h.writev([text('x')], 0), errno('EBADF'));
    const ro = await fs.open('/d/f', 'r');
    await assert.rejects(ro.writev([text('x')], 0), errno('EBADF'));
    await assert.rejects(ro.truncate(0), errno('EBADF'));
    assert.deepEqual(fs.readFileSync('/d/f'), new Uint8Array(0), 'the failed calls wrote nothing');
  });

  it('creates files 0600 and directories 0700', async () => {
    const { fs } = await fresh();
    assert.equal((await fs.stat('/d/f'))?.mode, 0o100600);
    assert.equal(((await fs.stat('/d/f'))!.mode & 0o777), 0o600);
    assert.equal((await fs.stat('/d'))?.mode, 0o040700);
    assert.equal(await fs.stat('/d/none'), undefined);
  });

  it('open rejects ENOENT for a missing file (r, r+) or directory (create); mkdir makes parents', async () => {
    const fs = new SimFileSystem();
    await assert.rejects(fs.open('/a/b/f', 'create'), errno('ENOENT'));
    await fs.mkdir('/a/b');
    await assert.rejects(fs.open('/a/b/f', 'r'), errno('ENOENT'));
    await assert.rejects(fs.open('/a/b/f', 'r+'), errno('ENOENT'));
    await (await fs.open('/a/b/f', 'create')).close();
    assert.deepEqual(await fs.readdir('/a'), ['b']);
    assert.deepEqual(await fs.readdir('/a/b'), ['f']);
    await assert.rejects(fs.readdir('/zz'), errno('ENOENT'));
  });

  it('reads past EOF are short, a write past the end zero-fills, size() is the current size', async () => {
    const { h } = await fresh();
    await h.writev([text('ab')], 4);
    assert.equal(await h.size(), 6);
    const buf = bytes(10, 7);
    assert.equal(await h.read(buf, 1, 9, 0), 6);
    assert.deepEqual(buf, Uint8Array.from([7, 0, 0, 0, 0, 97, 98, 7, 7, 7]));
    assert.equal(await h.read(buf, 0, 4, 6), 0);
    assert.equal(await h.read(buf, 0, 4, 100), 0);
  });

  it('writeFileSync is durable at once; durableFileSync shows only durable state', async () => {
    const fs = new SimFileSystem();
    fs.writeFileSync('/s/log-0', text('corrupt'));
    assert.deepEqual(fs.durableFileSync('/s/log-0'), text('corrupt'));
    const h = await fs.open('/s/log-0', 'r+');
    await h.writev([text('C')], 0);
    assert.deepEqual(fs.durableFileSync('/s/log-0'), text('corrupt'));
    assert.deepEqual(fs.crash(1, { mode: 'drop-all' }).readFileSync('/s/log-0'), text('corrupt'));
  });

  it('stays fast on multi-MB files with tens of thousands of ops', { timeout: 20_000 }, async () => {
    const { fs, h } = await fresh();
    const chunk = bytes(200, 5);
    for (let i = 0; i < 20_000; i++) {
      await h.writev([chunk], i * 200);
      if (i % 10 === 9) await h.datasync();
    }
    assert.equal(await h.size(), 4_000_000);
    assert.equal(fs.crash(1).readFileSync('/d/f').length, 4_000_000);
  });
});

describe('SimFileSystem synchronous writevSync and readSync (unit and crash simulation)', () => {
  it('are the same ops as writev and read: counted, durable only once synced, faulted alike', async () => {
    const { fs, h } = await fresh();
    const before = fs.opCounts;
    h.writevSync!([text('he'), text('llo')], 0);
    const out = new Uint8Array(8);
    assert.equal(h.readSync!(out, 1, 5, 0), 5);
    assert.deepEqual(out.subarray(1, 6), text('hello'));
    assert.equal(fs.opCounts.writev, before.writev + 1);
    assert.equal(fs.opCounts.read, before.read + 1);
    assert.deepEqual(fs.peekCrash(1, { mode: 'drop-all' }).readFileSync('/d/f'), new Uint8Array(0), 'not durable before a datasync');
    await h.datasync();
    fs.injectFault({ op: 'writev', code: 'ENOSPC' });
    assert.throws(() => h.writevSync!([text('x')], 5), errno('ENOSPC'));
    fs.injectFault({ op: 'read', code: 'EIO' });
    assert.throws(() => h.readSync!(out, 0, 1, 0), errno('EIO'));
    assert.deepEqual(fs.readFileSync('/d/f'), text('hello'), 'the failed write wrote nothing');
  });

  it('a crash at a writevSync lands a random prefix of it and kills the instance', async () => {
    const cuts = new Set<number>();
    for (let seed = 0; seed < 30; seed++) {
      const { fs, h } = await fresh();
      fs.crashAtOp(1, seed, { mode: 'keep-all' });
      assert.throws(() => h.writevSync!([bytes(600, 1), bytes(400, 2)], 0), crashed);
      assert.throws(() => h.readSync!(new Uint8Array(1), 0, 1, 0), crashed);
      const got = fs.crashed!.readFileSync('/d/f');
      const want = new Uint8Array(1000);
      want.fill(1, 0, 600).fill(2, 600);
      assert.deepEqual(got, want.subarray(0, got.length));
      cuts.add(got.length);
    }
    assert.ok(cuts.size > 10);
  });
});
