// Unit tests of session ID generation and validation (src/session/session-id.ts, SPEC E1).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import {
  SESSION_ID_CHARS_MAX,
  SESSION_ID_CHARS_MIN,
  SESSION_ID_RANDOM_BYTES,
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

  it('refuses IDs shorter than 16 or longer than 128 characters, accepts the bounds', () => {
    assert.equal(SESSION_ID_CHARS_MIN, 16);
    assert.equal(SESSION_ID_CHARS_MAX, 128);
    assert.equal(isValidSessionId(''), false);
    assert.equal(isValidSessionId('a'.repeat(15)), false);
    assert.equal(isValidSessionId('a'.repeat(16)), true);
    assert.equal(isValidSessionId('a'.repeat(128)), true);
    assert.equal(isValidSessionId('a'.repeat(129)), false);
  });

  it('refuses characters outside the URL-safe alphabet', () => {
    const base = 'AbCdEfGhIjKlMnOpQrStUvWx';
    for (const bad of ['.', '/', ' ', '+', '=', ':', '%', '\n', '\u0000', 'é', 'ß', '🔑', '\u200b', '\uff21']) {
      assert.equal(isValidSessionId(base.slice(0, 12) + bad + base.slice(12)), false, JSON.stringify(bad));
    }
    assert.equal(isValidSessionId(base + '\n'), false, 'a trailing newline');
  });

  it('refuses an express-session signed cookie value (s: prefix, . signature)', () => {
    assert.equal(isValidSessionId('s:AbCdEfGhIjKlMnOpQrStUvWx.ZGVhZGJlZWZkZWFkYmVlZg'), false);
    assert.equal(isValidSessionId('s:AbCdEfGhIjKlMnOpQrStUvWx'), false);
  });

  it('accepts uid-safe IDs (24 bytes, 32 characters) and UUIDs', () => {
    for (let i = 0; i < 100; i++) {
      const uidSafe = randomBytes(24).toString('base64url');
      assert.equal(uidSafe.length, 32);
      assert.ok(isValidSessionId(uidSafe), uidSafe);
      assert.ok(isValidSessionId(randomUUID()));
    }
    assert.ok(isValidSessionId('123e4567-e89b-12d3-a456-426614174000'));
  });

  it('accepts exactly the strings of 16..128 URL-safe characters (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 140 }), (s) => {
        const expected = s.length >= 16 && s.length <= 128 && [...s].every((c) => alphabet.includes(c));
        assert.equal(isValidSessionId(s), expected);
      }),
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet.split('')), minLength: 16, maxLength: 128 }), (s) => {
        assert.ok(isValidSessionId(s));
      }),
    );
  });
});
