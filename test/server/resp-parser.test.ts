// Unit tests of the RESP request parser (src/server/resp-parser.ts): every message split at
// every byte boundary, inline commands, redis-server's protocol errors, and a fuzz test.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespParser, type RespParserLimits } from '../../src/server/resp-parser.js';
import { isSessiondError } from '../../src/errors.js';

const LIMITS: RespParserLimits = { bulkBytesMax: 1024, argsMax: 64, inlineBytesMax: 256 };

function parseAll(chunks: readonly Buffer[], limits = LIMITS): string[][] {
  const out: string[][] = [];
  const p = new RespParser(limits, (args) => out.push(args.map((a) => a.toString('latin1'))));
  for (const c of chunks) p.feed(c);
  return out;
}

function protocolError(chunks: readonly Buffer[], limits = LIMITS): string {
  try {
    parseAll(chunks, limits);
  } catch (e) {
    assert.ok(isSessiondError(e, 'SESSIOND_PROTOCOL'), String(e));
    return String(e.context.reply);
  }
  assert.fail('expected a protocol error');
}

const MESSAGES: readonly [string, string, string[][]][] = [
  ['an array command', '*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n', [['SET', 'key', 'value']]],
  ['an empty bulk', '*2\r\n$4\r\nECHO\r\n$0\r\n\r\n', [['ECHO', '']]],
  ['binary bytes with CRLF inside a bulk', '*2\r\n$4\r\nECHO\r\n$4\r\n\r\n\x00\xff\r\n', [['ECHO', '\r\n\x00\xff']]],
  ['an inline command', 'PING\r\n', [['PING']]],
  ['an inline command ended by LF alone', 'ECHO hi\n', [['ECHO', 'hi']]],
  ['inline quotes and escapes', 'SET "a b" \'c\\\'d\' "\\x41\\n"\r\n', [['SET', 'a b', "c'd", 'A\n']]],
  ['empty lines and *0 are no command', '\r\n*0\r\n*-1\r\nPING\r\n', [['PING']]],
  ['a pipeline of three', '*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', [['PING'], ['PING'], ['GET', 'k']]],
];

describe('RespParser', () => {
  for (const [what, text, expected] of MESSAGES) {
    it(`parses ${what} split at every byte boundary, and one byte at a time`, () => {
      const bytes = Buffer.from(text, 'latin1');
      assert.deepEqual(parseAll([bytes]), expected);
      for (let i = 1; i < bytes.length; i++) {
        assert.deepEqual(parseAll([bytes.subarray(0, i), bytes.subarray(i)]), expected, `split at ${i}`);
      }
      assert.deepEqual(parseAll([...bytes].map((b) => Buffer.from([b]))), expected);
    });
  }

  it('answers bad input with the texts redis-server sends', () => {
    const cases: [string, string][] = [
      ['*x\r\n', 'Protocol error: invalid multibulk length'],
      ['*65\r\n', 'Protocol error: invalid multibulk length'],
      ['*1\r\n+PING\r\n', "Protocol error: expected '$', got '+'"],
      ['*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\n$1025\r\n', 'Protocol error: invalid bulk length'],
      ['*1\r\n$1x\r\n', 'Protocol error: invalid bulk length'],
      ['SET "a\r\n', 'Protocol error: unbalanced quotes in request'],
      ['SET "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
      ['x'.repeat(300), 'Protocol error: too big inline request'],
      ['*1' + '1'.repeat(300), 'Protocol error: too big mbulk count string'],
    ];
    for (const [input, reply] of cases) assert.equal(protocolError([Buffer.from(input, 'latin1')]), reply, JSON.stringify(input));
  });

  it('refuses more bytes once it has failed', () => {
    const p = new RespParser(LIMITS, () => undefined);
    assert.throws(() => p.feed(Buffer.from('*x\r\n')));
    assert.throws(() => p.feed(Buffer.from('PING\r\n')), (e) => isSessiondError(e, 'SESSIOND_PROTOCOL'));
  });

  it('counts the bytes of an unfinished command, arguments already read included', () => {
    const p = new RespParser(LIMITS, () => undefined);
    p.feed(Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nke'));
    assert.equal(p.bufferedBytes, 'SET'.length + 'ke'.length);
    p.feed(Buffer.from('y\r\n$1\r\nv\r\n'));
    assert.equal(p.bufferedBytes, 0);
  });

  it('fuzz: random bytes never crash or hang the parser; it emits commands or a protocol error', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 16 }), (chunks) => {
        const p = new RespParser(LIMITS, (args) => {
          assert.ok(args.length >= 1 && args.length <= LIMITS.argsMax);
          for (const a of args) assert.ok(a.length <= LIMITS.bulkBytesMax);
        });
        for (const c of chunks) {
          try {
            p.feed(Buffer.from(c));
          } catch (e) {
            assert.ok(isSessiondError(e, 'SESSIOND_PROTOCOL'), String(e));
            return;
          }
        }
        assert.ok(p.bufferedBytes <= chunks.reduce((n, c) => n + c.length, 0));
      }),
      { numRuns: 3000 },
    );
  });

  it('fuzz: valid commands mutated at one byte never crash the parser', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (cmds, at, byte) => {
        const wire = Buffer.concat(cmds.map((args) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => Buffer.concat([Buffer.from(`$${a.length}\r\n`), Buffer.from(a), Buffer.from('\r\n')]))])));
        const seen: Buffer[][] = [];
        assert.deepEqual(parseAll([wire]).length, cmds.length);
        wire[at % wire.length] = byte;
        const p = new RespParser(LIMITS, (args) => seen.push(args));
        try {
          p.feed(wire);
        } catch (e) {
          assert.ok(isSessiondError(e, 'SESSIOND_PROTOCOL'), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
