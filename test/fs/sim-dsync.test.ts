// The simulated file layer's O_DSYNC (open's `dsync`): a writev through such a handle is
// durable when it returns (its own bytes and size, not earlier unsynced writes of other
// ranges); a crash before it returns may drop or tear it; a failed one is a failed fdatasync.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

async function withFile(seed = 0): Promise<{ fs: SimFileSystem; plain: Awaited<ReturnType<SimFileSystem['open']>>; dsync: Awaited<ReturnType<SimFileSystem['open']>> }> {
  const fs = new SimFileSystem(seed);
  await fs.mkdir('/d');
  await fs.syncDir('/');
  const plain = await fs.open('/d/f', 'create');
  await fs.syncDir('/d');
  const dsync = await fs.open('/d/f', 'r+', { dsync: true });
  return { fs, plain, dsync };
}

describe('SimFileSystem O_DSYNC', () => {
  it('a dsync handle says so; a plain one, or a read-only one, does not', async () => {
    const { fs, plain, dsync } = await withFile();
    assert.equal(dsync.dsync, true);
    assert.notEqual(plain.dsync, true);
    assert.notEqual((await fs.open('/d/f', 'r', { dsync: true })).dsync, true);
  });

  it('a dsync writev is durable when it returns, extending the size, with no datasync', async () => {
    const { fs, dsync } = await withFile();
    await dsync.writev([text('abc'), text('def')], 0);
    assert.deepEqual(fs.durableFileSync('/d/f'), text('abcdef'));
    assert.deepEqual(fs.crash(1).readFileSync('/d/f'), text('abcdef'), 'a power loss (tear) keeps it whole');
  });

  it('syncs its own range only: an earlier plain write elsewhere stays unsynced', async () => {
    const { fs, plain, dsync } = await withFile();
    await plain.writev([text('AAAA')], 0);
    await dsync.writev([text('BBBB')], 4);
    assert.deepEqual(fs.crash(1, { mode: 'drop-all' }).readFileSync('/d/f'), text('\0\0\0\0BBBB'));
  });

  it('an older unsynced write a crash keeps never lands over a later dsync write of the same bytes', async () => {
    for (let seed = 0; seed < 32; seed++) {
      const { fs, plain, dsync } = await withFile(seed);
      await plain.writev([fill(2048, 1)], 0);
      await dsync.writev([fill(1024, 2)], 512);
      const got = fs.crash(seed).readFileSync('/d/f');
      assert.deepEqual(got.subarray(512, 1536), fill(1024, 2), `seed ${seed}`);
    }
  });

  it('a crash before the dsync write returns may drop or tear it', async () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 16; seed++) {
      const { fs, dsync } = await withFile(seed);
      await dsync.writev([fill(512, 1)], 0);
      fs.crashAtOp(1, seed);
      await assert.rejects(dsync.writev([fill(512 * 4, 2)], 512), { code: 'EIO' });
      const got = fs.crashed!.readFileSync('/d/f');
      assert.deepEqual(got.subarray(0, 512), fill(512, 1), 'the returned write survives');
      outcomes.add(got.byteLength === 512 * 5 && got.subarray(512).every((b) => b === 2) ? 'whole' : 'lost or torn');
    }
    assert.ok(outcomes.has('lost or torn'));
  });

  it('a failed dsync write is a failed fdatasync: reads see it, the disk never gets it, a later sync does not help', async () => {
    const { fs, plain, dsync } = await withFile();
    await dsync.writev([text('old!')], 0);
    fs.injectFault({ op: 'writev', code: 'EIO' });
    await assert.rejects(dsync.writev([text('NEW!')], 0), { code: 'EIO' });
    assert.deepEqual(fs.readFileSync('/d/f'), text('NEW!'));
    await plain.datasync();
    assert.deepEqual(fs.durableFileSync('/d/f'), text('old!'));
  });

  it('a failed plain write leaves nothing behind', async () => {
    const { fs, plain } = await withFile();
    fs.injectFault({ op: 'writev', code: 'EIO' });
    await assert.rejects(plain.writev([text('x')], 0));
    assert.equal(fs.readFileSync('/d/f').byteLength, 0);
  });
});
