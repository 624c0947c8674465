// Unit tests of session ID generation and validation (src/session/session-id.ts, SPEC E1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  SESSION_ID_BYTES_MAX,
  SESSION_ID_RANDOM_BYTES,
  invalidSessionIdError,
  generateSessionId,
  isValidSessionId,
} from '../../src/session/session-id.js';

const URL_SAFE = /^[A-Za-z0-9_-]{24}$/;

describe('generateSessionId', () => {
  it('gives 24 URL-safe characters that validate', () => {
    for (let i = 0; i < 1000; i++) {
      const id = generateSessionId();
      assert.match(id, URL_SAFE);
      assert.ok(isValidSessionId(id));
    }
  });

  it('gives 10,000 distinct IDs', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(generateSessionId());
    assert.equal(ids.size, 10_000);
  });

  it('encodes exactly 144 random bits: 18 bytes, canonical base64url, no padding', () => {
    assert.equal(SESSION_ID_RANDOM_BYTES * 8, 144);
    for (let i = 0; i < 1000; i++) {
      const id = generateSessionId();
      const raw = Buffer.from(id, 'base64url');
      assert.equal(raw.length, SESSION_ID_RANDOM_BYTES);
      assert.equal(raw.toString('base64url'), id);
    }
  });

  it('uses (nearly) the whole alphabet at every one of the 24 positions', () => {
    // 144 bits = 24 x 6: every character carries 6 random bits, so 10,000 IDs show each
    // of the 64 characters ~156 times per position; fewer than 60 distinct means a stuck bit.
    const seen = Array.from({ length: 24 }, () => new Set<string>());
    for (let i = 0; i < 10_000; i++) {
      const id = generateSessionId();
      for (let p = 0; p < 24; p++) seen[p]!.add(id[p]!);
    }
    seen.forEach((s, p) => assert.ok(s.size >= 60, `position ${p} used only ${s.size} characters`));
  });
});

describe('isValidSessionId', () => {
  it('refuses non-strings', () => {
    for (const v of [undefined, null, 42, 1n, true, {}, [], ['A'.repeat(24)], Buffer.from('A'.repeat(24)), Symbol('id'), () => 'A'.repeat(24)]) {
      assert.equal(isValidSessionId(v), false, String(typeof v));
    }
  });

  it('accepts every non-empty string up to 512 UTF-8 bytes: short names, UUIDs, prefixes, / and %, any script', () => {
    assert.equal(SESSION_ID_BYTES_MAX, 512);
    for (const id of ['a', 'x1', 'koa:sess:' + randomUUID(), randomUUID(), 'user/42', '100%', 'a b', 'a.b.c', 's:abc.def', 'é', '🔑', '\u0000', 'a\nb']) {
      assert.equal(isValidSessionId(id), true, JSON.stringify(id));
    }
    for (let i = 0; i < 100; i++) assert.ok(isValidSessionId(randomBytes(24).toString('base64url')));
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    assert.equal(isValidSessionId(''), false);
    assert.equal(isValidSessionId('a'.repeat(512)), true);
    assert.equal(isValidSessionId('a'.repeat(513)), false);
    assert.equal(isValidSessionId('é'.repeat(256)), true, '256 x 2 bytes');
    assert.equal(isValidSessionId('é'.repeat(256) + 'a'), false, '513 bytes in 257 characters');
    assert.equal(isValidSessionId('🔑'.repeat(128)), true, '128 x 4 bytes');
    assert.equal(isValidSessionId('🔑'.repeat(128) + 'a'), false);
  });

  it('refuses lone surrogates, which have no UTF-8 form (two such IDs would share one after a restart)', () => {
    for (const bad of ['\ud800', 'abc\udc00', '\udbff\ud800', 'x\ud83d']) {
      assert.equal(isValidSessionId(bad), false, JSON.stringify(bad));
    }
    assert.equal(isValidSessionId('\ud83d\udd11'), true, 'a well-formed pair');
  });

  it('the error a write gets names the limit', () => {
    const e = invalidSessionIdError();
    assert.equal(e.code, 'SESSIOND_INVALID_SESSION_ID');
    assert.match(e.message, /512 UTF-8 bytes/);
  });

  it('accepts exactly the well-formed strings of 1..512 UTF-8 bytes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constant('a'), fc.constant('é'), fc.constant('🔑'), fc.constant('\ud800'), fc.constant('\udc00')), maxLength: 300 }), (s) => {
        const wellFormed = !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
        const expected = s.length > 0 && wellFormed && Buffer.byteLength(s) <= 512;
        assert.equal(isValidSessionId(s), expected, JSON.stringify(s));
      }),
    );
  });
});
