// Reading the session ID from the cookie (kind: unit): verified values are remembered, so a
// session's next requests skip the HMAC; forged values are never remembered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unsignWithAny, VERIFIED_COOKIES_MAX } from '../../src/adapters/session-cookie.js';

test('a cookie value that verified once is not verified again; a forged one is checked every time', () => {
  let hmacs = 0;
  const unsign = unsignWithAny(['old', 'new'], (signed, secret) => {
    hmacs++;
    return signed === `id.${secret}` ? 'id' : false;
  });
  assert.equal(unsign('id.new'), 'id');
  const afterFirst = hmacs;
  assert.equal(unsign('id.new'), 'id');
  assert.equal(hmacs, afterFirst, 'the second request of the session skipped the HMAC');
  assert.equal(unsign('id.forged'), false);
  const afterForged = hmacs;
  assert.equal(unsign('id.forged'), false);
  assert.equal(hmacs, afterForged + 2, 'a forged value is checked against every secret again');
});

test('the remembered values are bounded: the oldest is forgotten first', () => {
  let hmacs = 0;
  const unsign = unsignWithAny(['k'], (signed) => {
    hmacs++;
    return signed.endsWith('.k') ? signed.slice(0, -2) : false;
  });
  for (let i = 0; i <= VERIFIED_COOKIES_MAX; i++) unsign(`s${i}.k`);
  const before = hmacs;
  unsign(`s${VERIFIED_COOKIES_MAX}.k`);
  assert.equal(hmacs, before, 'the newest is remembered');
  unsign('s0.k');
  assert.equal(hmacs, before + 1, 'the oldest was forgotten');
});
