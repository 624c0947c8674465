// The option parsers of SET, GETEX and EXPIRE (src/server/expire-args.ts) on exact times:
// which number wins when a word repeats, where the engine's 2^53 ms limit cuts in, and the
// EXPIRE conditions with no expiry counted as an infinite TTL.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expireAllowed, expireAt, parseExpireFlags, parseGetexArgs, parseLongLong, parseSetArgs } from '../../src/server/expire-args.js';

const b = (...words: string[]): Buffer[] => words.map((w) => Buffer.from(w));
const NOW = 1_000_000;

describe('expire-args', () => {
  it('reads integers as redis-server string2ll does', () => {
    assert.equal(parseLongLong(Buffer.from('9223372036854775807')), 2n ** 63n - 1n);
    assert.equal(parseLongLong(Buffer.from('-9223372036854775808')), -(2n ** 63n));
    for (const bad of ['9223372036854775808', '-0', '+1', '01', '1.5', '', ' 1', '1 ', '-']) assert.equal(parseLongLong(Buffer.from(bad)), undefined, bad);
  });

  it('SET: the last of a repeated expiry word wins; the number is read after every word', () => {
    assert.deepEqual(parseSetArgs(b('EX', '5', 'EX', '20'), NOW), { nx: false, xx: false, get: false, expiry: { kind: 'at', atMs: NOW + 20_000 } });
    assert.deepEqual(parseSetArgs(b('PXAT', '7', 'pxat', '9'), NOW), { nx: false, xx: false, get: false, expiry: { kind: 'at', atMs: 9 } });
    assert.equal(parseSetArgs(b('PX', '5', 'EX', '20'), NOW), 'ERR syntax error');
    assert.equal(parseSetArgs(b('EX', 'abc', 'FOO'), NOW), 'ERR syntax error');
    assert.equal(parseSetArgs(b('EX', '0'), NOW), "ERR invalid expire time in 'set' command");
    assert.equal(parseSetArgs(b('PX', String(Number.MAX_SAFE_INTEGER - NOW)), NOW).constructor, Object);
    assert.equal(parseSetArgs(b('PX', String(Number.MAX_SAFE_INTEGER - NOW + 1)), NOW), "ERR invalid expire time in 'set' command");
  });

  it('GETEX: words first, the number only when resolved (the key exists)', () => {
    const p = parseGetexArgs(b('EX', '5', 'EX', '7'));
    assert.notEqual(typeof p, 'string');
    assert.deepEqual((p as Exclude<typeof p, string>).resolve(NOW), { kind: 'at', atMs: NOW + 7000 });
    const bad = parseGetexArgs(b('EX', 'abc'));
    assert.equal((bad as Exclude<typeof bad, string>).resolve(NOW), 'ERR value is not an integer or out of range');
    assert.equal(parseGetexArgs(b('EX', '1', 'PERSIST')), 'ERR syntax error');
    assert.deepEqual((parseGetexArgs(b('PERSIST', 'PERSIST')) as Exclude<ReturnType<typeof parseGetexArgs>, string>).resolve(NOW), { kind: 'persist' });
  });

  it('EXPIRE: times, past times, and the NX XX GT LT rules', () => {
    assert.equal(expireAt(Buffer.from('10'), 1000, NOW, 'expire'), NOW + 10_000);
    assert.equal(expireAt(Buffer.from('-10'), 1000, NOW, 'expire'), NOW - 10_000);
    assert.equal(expireAt(Buffer.from('-99999999999999'), 1000, NOW, 'expire'), 1, 'far in the past: expires now');
    assert.equal(expireAt(Buffer.from('9223372036854776'), 1000, NOW, 'expire'), "ERR invalid expire time in 'expire' command");
    assert.deepEqual(parseExpireFlags(b('xx', 'GT')), { nx: false, xx: true, gt: true, lt: false });
    assert.equal(parseExpireFlags(b('nx', 'lt')), 'ERR NX and XX, GT or LT options at the same time are not compatible');
    assert.equal(parseExpireFlags(b('gt', 'lt')), 'ERR GT and LT options at the same time are not compatible');
    const f = (w: string): ReturnType<typeof parseExpireFlags> & object => parseExpireFlags(b(w)) as ReturnType<typeof parseExpireFlags> & object;
    assert.equal(expireAllowed(f('NX'), Infinity, 5), true);
    assert.equal(expireAllowed(f('NX'), 9, 5), false);
    assert.equal(expireAllowed(f('XX'), Infinity, 5), false);
    assert.equal(expireAllowed(f('GT'), Infinity, 5), false, 'no expiry is an infinite TTL: nothing is greater');
    assert.equal(expireAllowed(f('GT'), 5, 5), false);
    assert.equal(expireAllowed(f('GT'), 4, 5), true);
    assert.equal(expireAllowed(f('LT'), Infinity, 5), true, 'anything is less than an infinite TTL');
    assert.equal(expireAllowed(f('LT'), 5, 5), false);
    assert.equal(expireAllowed(f('LT'), 6, 5), true);
  });
});
