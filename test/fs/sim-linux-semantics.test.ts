// Crash-simulation tests of the two Linux behaviours the simulated file layer models so
// that broken builds fail: what a failed fdatasync does to a file's unsynced writes, and
// directory entries (new directories included) that a crash takes unless the parent was
// fsynced.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

async function withFile(seed = 0): Promise<{ fs: SimFileSystem; h: Awaited<ReturnType<SimFileSystem['open']>> }> {
  const fs = new SimFileSystem(seed);
  await fs.mkdir('/d');
  await fs.syncDir('/');
  const h = await fs.open('/d/f', 'create');
  await fs.syncDir('/d');
  return { fs, h };
}

describe('SimFileSystem failed fdatasync (crash simulation)', () => {
  it('drops the pending writes for good: reads still see them, a later successful sync does not make them durable', async () => {
    const { fs, h } = await withFile();
    await h.writev([text('old!')], 0);
    await h.datasync();
    await h.writev([text('NEW!')], 0);
    fs.injectFault({ op: 'datasync', code: 'EIO' });
    await assert.rejects(h.datasync(), { code: 'EIO' });
    assert.deepEqual(fs.readFileSync('/d/f'), text('NEW!'), 'the page cache still holds the write');
    await h.datasync(); // the retry "succeeds"
    assert.deepEqual(fs.durableFileSync('/d/f'), text('old!'), 'the retried sync made nothing durable');
    await h.writev([text('+')], 4);
    await h.datasync();
    assert.deepEqual(fs.crash(1, { mode: 'drop-all' }).readFileSync('/d/f'), text('old!+'), 'later writes are durable, the dropped one is not');
  });

  it('a process crash (keep-all) after a failed sync still shows the dropped write', async () => {
    const { fs, h } = await withFile();
    await h.writev([text('abc')], 0);
    fs.injectFault({ op: 'datasync', code: 'EIO' });
    await assert.rejects(h.datasync());
    assert.deepEqual(fs.crash(1, { mode: 'keep-all' }).readFileSync('/d/f'), text('abc'));
  });

  it("'seeded' sync loss keeps some 512-byte sectors and drops others, replayable from the seed", async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 8; seed++) {
      const run = async (): Promise<Uint8Array> => {
        const { fs, h } = await withFile(seed);
        await h.writev([fill(512 * 8, 1)], 0);
        await h.datasync();
        await h.writev([fill(512 * 8, 2)], 0);
        fs.injectFault({ op: 'datasync', code: 'EIO', syncLoss: 'seeded' });
        await assert.rejects(h.datasync());
        await h.datasync();
        return fs.crash(seed, { mode: 'drop-all' }).readFileSync('/d/f');
      };
      const got = await run();
      assert.deepEqual(await run(), got, 'the same seed loses the same sectors');
      const sectors = Array.from({ length: 8 }, (_, i) => got[i * 512]);
      for (let i = 0; i < 8; i++) assert.ok(got.subarray(i * 512, (i + 1) * 512).every((b) => b === sectors[i]), 'whole sectors');
      outcomes.add(sectors.join(''));
    }
    assert.ok(outcomes.size > 2, `several different losses across seeds, got ${[...outcomes].join(' ')}`);
  });
});

describe('SimFileSystem directory entries (crash simulation)', () => {
  it('a new directory and its synced files vanish in a crash unless its parent was fsynced', async () => {
    for (const syncParent of [false, true]) {
      const fs = new SimFileSystem();
      await fs.mkdir('/store');
      if (syncParent) await fs.syncDir('/');
      const h = await fs.open('/store/db', 'create');
      await h.writev([text('data')], 0);
      await h.datasync();
      await fs.syncDir('/store');
      const after = fs.crash(3, { mode: 'drop-all' });
      assert.equal(after.exists('/store'), syncParent);
      assert.equal(after.exists('/store/db'), syncParent);
      if (syncParent) assert.deepEqual(after.readFileSync('/store/db'), text('data'));
    }
  });

  it('mkdir of nested directories: each level is durable only once its own parent is synced', async () => {
    const fs = new SimFileSystem();
    await fs.mkdir('/a/b/c');
    await fs.syncDir('/a/b');
    await fs.syncDir('/');
    const after = fs.crash(1, { mode: 'drop-all' });
    assert.equal(after.exists('/a'), true);
    assert.equal(after.exists('/a/b'), false, '/a was never synced, so its entry b is lost');
    assert.equal(after.exists('/a/b/c'), false, 'a directory whose parent is lost is lost');
  });

  it('a process crash (keep-all) keeps unsynced directories; tear keeps some, replayable', async () => {
    const fs = new SimFileSystem();
    await fs.mkdir('/x');
    assert.equal(fs.crash(1, { mode: 'keep-all' }).exists('/x'), true);
    const seen = new Set<boolean>();
    for (let seed = 0; seed < 16; seed++) {
      const t = new SimFileSystem();
      await t.mkdir('/x');
      seen.add(t.crash(seed, { mode: 'tear' }).exists('/x'));
    }
    assert.deepEqual([...seen].sort(), [false, true]);
  });
});
