// Unit tests of the RESP reply encoder (src/server/resp-serializer.ts) and of the helpers the
// command table parses arguments with (inline splitting, glob).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NULL, OK, array, bulk, encodeReply, error, int, map, simple } from '../../src/server/resp-serializer.js';
import { globMatch } from '../../src/server/glob-match.js';
import { splitInlineArgs } from '../../src/server/inline-args.js';

const enc = (r: Parameters<typeof encodeReply>[0], proto: 2 | 3 = 2): string => encodeReply(r, proto).toString('latin1');

describe('RESP encoding', () => {
  it('writes every reply type in RESP2', () => {
    assert.equal(enc(OK), '+OK\r\n');
    assert.equal(enc(error('ERR syntax error')), '-ERR syntax error\r\n');
    assert.equal(enc(int(-2)), ':-2\r\n');
    assert.equal(enc(bulk(Buffer.from([0, 0xff, 13, 10]))), '$4\r\n\x00\xff\r\n\r\n');
    assert.equal(enc(bulk('é')), '$2\r\n\xc3\xa9\r\n');
    assert.equal(enc(NULL), '$-1\r\n');
    assert.equal(enc(array([int(1), NULL])), '*2\r\n:1\r\n$-1\r\n');
    assert.equal(enc(map([[bulk('a'), int(1)]])), '*2\r\n$1\r\na\r\n:1\r\n');
  });

  it('writes null and maps the RESP3 way after HELLO 3', () => {
    assert.equal(enc(NULL, 3), '_\r\n');
    assert.equal(enc(map([[bulk('a'), int(1)]]), 3), '%1\r\n$1\r\na\r\n:1\r\n');
    assert.equal(enc(array([]), 3), '*0\r\n');
  });

  it('never lets CR or LF into a simple string or an error (they would end the reply early)', () => {
    assert.equal(enc(simple('a\r\nb')), '+a  b\r\n');
    assert.equal(enc(error('ERR x\ny')), '-ERR x y\r\n');
  });
});

describe('inline arguments and glob patterns', () => {
  it('splits inline commands like redis-server', () => {
    assert.deepEqual(splitInlineArgs('  set  a   b '), ['set', 'a', 'b']);
    assert.deepEqual(splitInlineArgs('echo ""'), ['echo', '']);
    assert.deepEqual(splitInlineArgs('echo "\\t\\x00\\\\"'), ['echo', '\t\x00\\']);
    assert.equal(splitInlineArgs("echo 'abc"), undefined);
  });

  it('matches globs like redis-server', () => {
    assert.ok(globMatch('sess:*', 'sess:abc'));
    assert.ok(!globMatch('sess:*', 'ses:abc'));
    assert.ok(globMatch('h?llo', 'hello'));
    assert.ok(globMatch('h[ae]llo', 'hallo'));
    assert.ok(!globMatch('h[^e]llo', 'hello'));
    assert.ok(globMatch('h[a-c]llo', 'hbllo'));
    assert.ok(globMatch('a\\*b', 'a*b'));
    assert.ok(!globMatch('a\\*b', 'axb'));
    assert.ok(globMatch('*a*b*c*', 'xxaxxbxxcxx'));
    assert.ok(globMatch('SAVE', 'save', true));
    // a pattern that makes naive backtracking exponential returns at once
    assert.ok(!globMatch('*a'.repeat(30) + 'b', 'a'.repeat(200)));
  });
});
