// Unit tests of sealable payload fields (src/session/attr-seal.ts, docs/format.md §3.7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { RecordType, SEAL_NONCE_BYTES } from '../../src/format/constants.js';
import { isSessiondError } from '../../src/errors.js';
import { resolveEncryption } from '../../src/session/attr-seal.js';
import { encodePatch, encodePut } from '../../src/session/session-encoder.js';
import { decodePayload } from '../../src/session/session-decoder.js';
import { makeState } from '../../src/session/session-state.js';

const ENC = resolveEncryption({ keys: { k1: randomBytes(32) }, current: 'k1' });
const STATE = makeState('sid-1', 4, 0, 10, 20, 30, 0, 'host', '"secret"\u0001"value"', 'alice');
/** str16 "sid-1" (7), version..maxInactiveMs (36), str8 owner "host" (5), str8 principal "alice" (6): the sealable field starts here. */
const SEAL_AT = 7 + 36 + 5 + 6;

test('a sealed PUT and PATCH round-trip, and hold no clear attribute byte', () => {
  const put = encodePut(STATE, ENC);
  assert.ok(!put.includes('secret') && !put.includes('value'));
  assert.deepEqual(decodePayload(RecordType.PUT, put, undefined, ENC), { type: RecordType.PUT, state: STATE });
  const patch = { id: 'sid-1', version: 5, lastAccessAtMs: 1, expiresAtMs: 2, maxInactiveMs: 3, principal: 'bob', set: '"secret"\u00011', removed: '"gone"' };
  const bytes = encodePatch(patch, ENC);
  assert.ok(!bytes.includes('secret') && !bytes.includes('gone'));
  assert.deepEqual(decodePayload(RecordType.PATCH, bytes, undefined, ENC), { type: RecordType.PATCH, ...patch });
});

test('every seal has its own nonce: the same payload sealed twice differs', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const b = encodePut(STATE, ENC);
    const nonce = b.subarray(SEAL_AT + 3, SEAL_AT + 3 + SEAL_NONCE_BYTES).toString('hex');
    assert.ok(!seen.has(nonce), `nonce repeated after ${i} seals`);
    seen.add(nonce);
  }
});

test('a sealed payload read as another record type, or with another key of the same ID, fails its tag', () => {
  const put = encodePut(STATE, ENC);
  const other = resolveEncryption({ keys: { k1: randomBytes(32) }, current: 'k1' });
  assert.throws(() => decodePayload(RecordType.PUT, put, undefined, other), (e: unknown) => isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'));
  const patch = encodePatch({ id: 'sid-1', version: 5, lastAccessAtMs: 1, expiresAtMs: 2, maxInactiveMs: 3, principal: '', set: '', removed: '' }, ENC);
  assert.throws(() => decodePayload(RecordType.PATCH, Buffer.concat([patch, Buffer.from([0])]), undefined, ENC), (e: unknown) => isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'));
});

test('every single-bit change of a sealed PUT is refused (corrupt, or a missing key for the key ID), never decoded differently', () => {
  const put = encodePut(STATE, ENC);
  let refused = 0;
  for (let at = 0; at < put.length; at++) {
    for (let bit = 0; bit < 8; bit++) {
      const m = Buffer.from(put);
      m[at]! ^= 1 << bit;
      try {
        const p = decodePayload(RecordType.PUT, m, undefined, ENC);
        assert.fail(`bit ${bit} of byte ${at} decoded: ${JSON.stringify(p)}`);
      } catch (e) {
        assert.ok(isSessiondError(e, 'SESSIOND_RECORD_CORRUPT') || isSessiondError(e, 'SESSIOND_KEY_MISSING'), `byte ${at}: ${String(e)}`);
        refused++;
      }
    }
  }
  assert.equal(refused, put.length * 8);
});
