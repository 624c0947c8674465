// The GET fast path of sessiond serve (docs/server.md "Replies"): the parser's one-pass read
// of whole commands against its incremental read (unit, fuzz), the ReplyWriter's bytes
// (unit, property), and GETs answered from offsets and attribute text through a real
// socket (integration): values that need unescaping, binary values and keys, ordering
// after writes, NOAUTH, RESP3, and long pipelines; SET with a simple EX or PX answered
// from offsets against the general SET's replies at every bound.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespParser, type RespParserLimits } from '../../src/server/resp-parser.js';
import { ReplyWriter } from '../../src/server/reply-writer.js';
import { array, bulk, int, NULL, OK } from '../../src/server/resp-serializer.js';
import { isSessiondError } from '../../src/errors.js';
import { ManualClock } from '../../src/clock.js';
import { simpleExpiryAt } from '../../src/server/fast-commands.js';
import { HANG_GUARD, RawClient, startServer, startWithClient, text } from './server-fixtures.js';

const LIMITS: RespParserLimits = { bulkBytesMax: 64, argsMax: 8, inlineBytesMax: 32 };

/** Commands (latin1) and the protocol error, if any: whole buffer (one-pass path) or one byte a feed (incremental path). */
function parse(wire: Buffer, bytewise: boolean): { commands: string[][]; error?: string } {
  const commands: string[][] = [];
  // Past inlineBytesMax, an unfinished line is an error only when it arrives in pieces (as in
  // redis-server): so large here that only the paths' reading of whole input is compared.
  const p = new RespParser({ ...LIMITS, inlineBytesMax: 1 << 20 }, (args) => commands.push(args.map((a) => a.toString('latin1'))));
  try {
    if (bytewise) for (const b of wire) p.feed(Buffer.from([b]));
    else p.feed(wire);
  } catch (e) {
    assert.ok(isSessiondError(e, 'SESSIOND_PROTOCOL'), String(e));
    return { commands, error: String(e.context.reply) };
  }
  return { commands };
}

function wireOf(commands: readonly (readonly Uint8Array[])[]): Buffer {
  return Buffer.concat(commands.map((args) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => Buffer.concat([Buffer.from(`$${a.length}\r\n`), Buffer.from(a), Buffer.from('\r\n')]))])));
}

describe('RespParser one-pass read of whole commands', () => {
  it('fuzz: reads exactly what the incremental path reads, commands and errors, valid or mutated', () => {
    const arg = fc.uint8Array({ maxLength: 70, size: 'max' }); // some past bulkBytesMax (64)
    fc.assert(
      fc.property(fc.array(fc.array(arg, { minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 4 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }), (cmds, edits) => {
        const wire = wireOf(cmds);
        for (const [at, byte] of edits) wire[at % wire.length] = byte;
        assert.deepEqual(parse(wire, false), parse(wire, true));
      }),
      { numRuns: 3000 },
    );
  });

  it('hands whole commands to onSpans as offsets, and to onCommand when onSpans declines', () => {
    const wire = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*2\r\n$3\r\nGET\r\n$2\r\nk2\r\n');
    const spans: string[][] = [];
    const commands: string[][] = [];
    const p = new RespParser(
      LIMITS,
      (args) => commands.push(args.map((a) => a.toString())),
      (buf, s, argc) => {
        const args = Array.from({ length: argc }, (_, i) => buf.toString('latin1', s[2 * i], s[2 * i + 1]));
        if (args[0] !== 'GET') return false;
        spans.push(args);
        return true;
      },
    );
    p.feed(wire);
    assert.deepEqual(spans, [['GET', 'k'], ['GET', 'k2']]);
    assert.deepEqual(commands, [['SET', 'k', 'vv']]);
  });

  it('leaves a command split across reads, or with more than 16 arguments, to the incremental path', () => {
    const seen: string[] = [];
    const p = new RespParser({ ...LIMITS, argsMax: 64 }, (args) => seen.push(`cmd:${args.length}`), (_b, _s, argc) => {
      seen.push(`spans:${argc}`);
      return true;
    });
    const get = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
    p.feed(get.subarray(0, 10));
    p.feed(get.subarray(10));
    p.feed(wireOf([Array.from({ length: 17 }, () => Buffer.from('a'))]));
    p.feed(get);
    assert.deepEqual(seen, ['cmd:2', 'cmd:17', 'spans:2']);
  });
});

describe('ReplyWriter', () => {
  const written = (f: (w: ReplyWriter) => void): string => {
    const w = new ReplyWriter();
    f(w);
    return w.take().toString('latin1');
  };
  const expectBulk = (s: string): string => `$${Buffer.byteLength(s)}\r\n${Buffer.from(s, 'utf8').toString('latin1')}\r\n`;

  it('writes a bulk string of text whose UTF-8 length has more digits than its character count', () => {
    for (const s of ['', 'a', '123456789', '1234567890', 'é'.repeat(5), 'é'.repeat(50), '€'.repeat(4), '€'.repeat(34), '😀'.repeat(3), 'x'.repeat(99) + 'é']) {
      assert.equal(written((w) => w.bulkText(s)), expectBulk(s), JSON.stringify(s));
      // and after other bytes, at an offset
      assert.equal(written((w) => (w.reply(OK, 2), w.bulkText(s), w.reply(int(-12), 2))), `+OK\r\n${expectBulk(s)}:-12\r\n`);
    }
  });

  it('property: any text and any sequence of replies, growing past its first buffer', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3000 }), fc.string({ maxLength: 40 })), { maxLength: 30 }), (texts) => {
        const w = new ReplyWriter();
        for (const s of texts) w.bulkText(s);
        w.reply(array([bulk(Buffer.from([0, 255])), NULL, int(1234567890123)]), 3);
        const expected = texts.map(expectBulk).join('') + '*3\r\n$2\r\n\x00\xff\r\n_\r\n:1234567890123\r\n';
        assert.equal(w.take().toString('latin1'), expected);
        assert.equal(w.pendingBytes, 0);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps what it wrote when it grows past its first 16 KiB', () => {
    const texts = Array.from({ length: 12 }, (_, i) => String.fromCharCode(0x61 + i).repeat(2000) + 'é€😀'.repeat(300));
    assert.equal(written((w) => texts.forEach((t) => w.bulkText(t))), texts.map(expectBulk).join(''));
  });

  it('take() hands out bytes of their own: later writes do not change them', () => {
    const w = new ReplyWriter();
    w.bulkText('first');
    const a = w.take();
    w.bulkText('later');
    w.take();
    assert.equal(a.toString(), '$5\r\nfirst\r\n');
  });

  it('property: one writer, many takes across its blocks: each take is its own replies, and stays so', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 9000 }), { maxLength: 6 }), { minLength: 1, maxLength: 25 }), (reads) => {
        const w = new ReplyWriter();
        const taken = reads.map((texts) => {
          for (const s of texts) w.bulkText(s);
          assert.equal(w.pendingBytes, Buffer.byteLength(texts.map(expectBulk).join(''), 'latin1'));
          return w.take();
        });
        assert.equal(w.pendingBytes, 0);
        reads.forEach((texts, i) => assert.equal(taken[i]!.toString('latin1'), texts.map(expectBulk).join(''), `take ${i}`));
      }),
      { numRuns: 200 },
    );
  });
});

describe('sessiond serve GET answered from offsets', () => {
  it('returns every value byte for byte: escapes, control bytes, UTF-8, binary, empty', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const values = [
      Buffer.from('{"cookie":{"path":"/"},"user":"a\\\\b"}'),
      Buffer.from('tab\there\r\nnewline \u0001 "quoted"'),
      Buffer.from('é€😀'.repeat(20)),
      Buffer.from([0xff, 0xfe, 0x00, 0x0d, 0x0a]),
      Buffer.alloc(0),
      Buffer.from('x'.repeat(20_000)),
    ];
    for (const [i, v] of values.entries()) assert.equal(await c.call('SET', `sess:${i}`, v), 'OK');
    // all GETs in one read, so their replies share one write
    c.send(...values.map((_, i) => ['GET', `sess:${i}`]), ['gEt', 'sess:0'], ['GET', 'missing']);
    for (const v of values) assert.deepEqual(await c.reply(), v);
    assert.deepEqual(await c.reply(), values[0]);
    assert.equal(await c.reply(), null);
  });

  it('keys that are not their own ID (binary, NUL first, longer than 512 bytes) and UTF-8 keys', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const keys = [Buffer.from([0xff, 0x01]), Buffer.from([0x00, 0x61]), Buffer.from('k'.repeat(513)), Buffer.from('sess:é'), Buffer.from('k'.repeat(512))];
    for (const [i, k] of keys.entries()) assert.equal(await c.call('SET', k, `v${i}`), 'OK');
    c.send(...keys.map((k) => ['GET', k]));
    for (const [i] of keys.entries()) assert.equal(text(await c.reply()), `v${i}`);
    assert.equal(await c.call('GET', Buffer.from([0xff, 0x02])), null);
  });

  it('a GET pipelined after writes of its connection waits for them and sees them', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    c.send(['SET', 'k', 'v1'], ['GET', 'k'], ['DEL', 'k'], ['GET', 'k'], ['SET', 'k', 'v2'], ['EXPIRE', 'k', '100'], ['GET', 'k']);
    assert.deepEqual(text([await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()]), ['OK', 'v1', 1, null, 'OK', 1, 'v2']);
  });

  it('a GET read behind a reply still queued (a general-path command, a write not yet durable) goes out after it', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    assert.equal(text(await c.call('SET', 'k', 'v')), 'OK');
    // One read: GETs at its head are encoded at once; from the PING on, every reply queues behind the one before.
    c.send(['GET', 'k'], ['GET', 'none'], ['PING'], ['GET', 'k'], ['ECHO', 'e'], ['GET', 'k'], ['SET', 'j', 'w'], ['GET', 'k'], ['GET', 'j'], ['GET', 'k']);
    const replies = [];
    for (let i = 0; i < 10; i++) replies.push(text(await c.reply()));
    assert.deepEqual(replies, ['v', null, 'PONG', 'v', 'e', 'v', 'OK', 'v', 'w', 'v']);
  });

  it('answers GET with NOAUTH before AUTH, a RESP3 null after HELLO 3, and errors in their place', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t, { password: 'pw' });
    assert.deepEqual(await c.call('GET', 'k'), { error: 'NOAUTH Authentication required.' });
    c.send(['AUTH', 'pw'], ['SET', 'k', 'v'], ['GET', 'k'], ['GET'], ['GET', 'k', 'extra'], ['GET', 'k']);
    assert.deepEqual(text([await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()]), [
      'OK',
      'OK',
      'v',
      { error: "ERR wrong number of arguments for 'get' command" },
      { error: "ERR wrong number of arguments for 'get' command" },
      'v',
    ]);
    c.send(['HELLO', '3']);
    await c.reply();
    const raw: Buffer[] = [];
    c.socket.on('data', (d: Buffer) => raw.push(d));
    c.send(['GET', 'nokey'], ['GET', 'k']);
    await c.reply();
    await c.reply();
    assert.equal(Buffer.concat(raw).toString('latin1'), '_\r\n$1\r\nv\r\n', 'a RESP3 null, then the value');
  });

  it('3,000 GETs and SETs in one pipeline are answered in order', HANG_GUARD, async (t) => {
    const { c } = await startWithClient(t);
    const cmds: string[][] = [];
    for (let i = 0; i < 1500; i++) cmds.push(['SET', `k${i % 7}`, `v${i}`], ['GET', `k${i % 7}`]);
    c.send(...cmds);
    for (let i = 0; i < 1500; i++) assert.deepEqual(text([await c.reply(), await c.reply()]), ['OK', `v${i}`], `pair ${i}`);
    c.send(...Array.from({ length: 3000 }, (_, i) => ['GET', `k${i % 7}`]));
    const last = (j: number): number => 1499 - ((1499 - j) % 7); // the last i with i % 7 === j
    for (let i = 0; i < 3000; i++) assert.equal(text(await c.reply()), `v${last(i % 7)}`);
  });
});

describe('sessiond serve SET with a simple expiry answered from offsets', () => {
  const spansOf = (args: string[]): { buf: Buffer; spans: Int32Array } => {
    const buf = Buffer.from(args.join(' '), 'latin1');
    const spans = new Int32Array(2 * args.length);
    let at = 0;
    args.forEach((a, i) => {
      spans[2 * i] = at;
      spans[2 * i + 1] = at + a.length;
      at += a.length + 1;
    });
    return { buf, spans };
  };

  it('simpleExpiryAt takes a plain positive EX or PX in its digit bounds, and leaves the rest to the general path', () => {
    const at = (word: string, n: string): number | undefined => {
      const { buf, spans } = spansOf(['SET', 'k', 'v', word, n]);
      return simpleExpiryAt(buf, spans, 1_000);
    };
    assert.equal(at('EX', '10'), 11_000);
    assert.equal(at('ex', '999999999'), 1_000 + 999_999_999_000);
    assert.equal(at('PX', '1'), 1_001);
    assert.equal(at('pX', '999999999999'), 1_000 + 999_999_999_999);
    for (const [word, n] of [['EX', '1000000000'], ['PX', '1000000000000'], ['EX', '0'], ['EX', '01'], ['EX', '-1'], ['EX', '+1'], ['EX', ''], ['EX', '1a'], ['EXAT', '1'], ['PXAT', '1'], ['E', '1'], ['EXX', '1'], ['KEEPTTL', 'x'], ['NX', 'GET']]) {
      assert.equal(at(word!, n!), undefined, `${word} ${n}`);
    }
  });

  it('replies and expiries match the general SET at and past every bound, in any case', HANG_GUARD, async (t) => {
    const clock = new ManualClock();
    const s = await startServer({ engine: { clock } });
    t.after(() => s.close());
    const c = await RawClient.connect(s.port);
    t.after(() => c.close());
    const cases: [string, string, unknown, number][] = [
      ['EX', '86400', 'OK', 86_400_000],
      ['ex', '999999999', 'OK', 999_999_999_000],
      ['Ex', '1000000000', 'OK', 1_000_000_000_000],
      ['PX', '1500', 'OK', 1_500],
      ['px', '999999999999', 'OK', 999_999_999_999],
      ['PX', '1000000000000', 'OK', 1_000_000_000_000],
      ['EX', '0', { error: "ERR invalid expire time in 'set' command" }, -1],
      ['EX', '-5', { error: "ERR invalid expire time in 'set' command" }, -1],
      ['EX', '01', { error: 'ERR value is not an integer or out of range' }, -1],
      ['PX', '1.5', { error: 'ERR value is not an integer or out of range' }, -1],
      ['EX', '99999999999999999', { error: "ERR invalid expire time in 'set' command" }, -1],
      ['XX', 'NX', { error: 'ERR syntax error' }, -1],
    ];
    for (const [i, [word, n, reply, pttl]] of cases.entries()) {
      assert.equal(await c.call('SET', `k${i}`, 'plain'), 'OK');
      assert.deepEqual(await c.call('SET', `k${i}`, `{"i":${i}}`, word, n), reply, `SET ${word} ${n}`);
      assert.equal(await c.call('PTTL', `k${i}`), pttl, `PTTL after SET ${word} ${n}`);
      assert.equal(text(await c.call('GET', `k${i}`)), pttl === -1 ? 'plain' : `{"i":${i}}`);
    }
    clock.advance(1_500);
    assert.equal(await c.call('GET', 'k3'), null, 'a PX 1500 key expires after 1.5 s');
    assert.equal(text(await c.call('GET', 'k0')), '{"i":0}');
  });

  it('a late session write after DEL gets nil at the head of a pipeline and behind one; a SET without expiry lifts the tombstone', HANG_GUARD, async (t) => {
    const s = await startServer();
    t.after(() => s.close());
    const c = await RawClient.connect(s.port);
    t.after(() => c.close());
    assert.equal(await c.call('SET', 'sess:a', '{"n":1}', 'EX', '100'), 'OK');
    assert.equal(await c.call('DEL', 'sess:a'), 1);
    // First in its read: answered from offsets; the ones behind the GET wait, as in the general path.
    c.send(['SET', 'sess:a', '{"n":2}', 'EX', '100'], ['GET', 'sess:a'], ['SET', 'sess:a', '{"n":2}', 'px', '100000'], ['SET', 'sess:a', '{"n":3}'], ['SET', 'sess:a', '{"n":4}', 'PX', '100000'], ['GET', 'sess:a']);
    assert.deepEqual(text([await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply(), await c.reply()]), [null, null, null, 'OK', 'OK', '{"n":4}']);
    assert.equal(await c.call('DEL', 'sess:a'), 1);
    assert.equal(await c.call('SET', 'sess:a', '{"n":5}'), 'OK');
    assert.equal(await c.call('SET', 'sess:a', '{"n":6}', 'EX', '100'), 'OK');
    const ttl = await c.call('PTTL', 'sess:a');
    assert.ok(typeof ttl === 'number' && ttl > 0 && ttl <= 100_000, String(ttl));
    assert.equal(text(await c.call('GET', 'sess:a')), '{"n":6}');
  });
});
