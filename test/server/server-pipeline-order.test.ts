// Ordering inside one pipeline (docs/server.md "Pipelines"), latin1 bytes in error replies,
// and SCAN's COUNT over evenly spread positions: each through a real socket.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HANG_GUARD, startWithClient, text } from './server-fixtures.js';

describe('sessiond serve pipelines and replies', () => {
  it('a plain write after a read-write command of the same pipeline waits for it', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    assert.equal(await c.call('SET', 'k', 'v1'), 'OK');
    // SET ... GET reads the old value, then writes; the SET after it must not overtake it.
    c.send(['SET', 'k', 'v2', 'GET'], ['SET', 'k', 'v3'], ['GET', 'k']);
    assert.deepEqual([text(await c.reply()), await c.reply(), text(await c.reply())], ['v1', 'OK', 'v3']);
    // EXPIRE with a condition reads first as well.
    c.send(['EXPIRE', 'k', '100', 'NX'], ['SET', 'k', 'v4'], ['TTL', 'k']);
    assert.deepEqual([await c.reply(), await c.reply(), await c.reply()], [1, 'OK', -1]);
  });

  it('sends the bytes of a latin1 error reply as they came (as redis-server does)', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const unknown = { error: "ERR unknown command 'f\u00e9', with args beginning with: '\u00ff' " };
    c.send([Buffer.from([0x66, 0xe9]), Buffer.from([0xff])]);
    assert.deepEqual(await c.reply(), unknown);
    assert.equal(await c.call('PING'), 'PONG', 'the reply had exactly its own bytes');
    // The same inside a pipeline, where the replies of one read are joined into one write.
    c.send([Buffer.from([0x66, 0xe9]), Buffer.from([0xff])], ['PING']);
    assert.deepEqual([await c.reply(), await c.reply()], [unknown, 'PONG']);
  });

  it('SCAN COUNT returns about COUNT keys per call, and every key once over the scan', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const keys = Array.from({ length: 40 }, (_, i) => `sess:${i}`);
    for (const k of keys) assert.equal(await c.call('SET', k, 'v'), 'OK');
    const seen: string[] = [];
    let cursor = '0';
    let calls = 0;
    do {
      const [next, batch] = (await c.call('SCAN', cursor, 'COUNT', '5')) as [Buffer, Buffer[]];
      cursor = next.toString();
      calls++;
      assert.ok(batch.length <= 10, `one call returned ${batch.length} keys for COUNT 5`);
      seen.push(...batch.map((b) => b.toString()));
    } while (cursor !== '0');
    assert.ok(calls >= 4, `${calls} calls for 40 keys at COUNT 5`);
    assert.deepEqual(seen.sort(), [...keys].sort());
  });
});
