// Unit, property and fuzz tests of the session payload codec
// (src/session/session-encoder.ts, session-decoder.ts, session-payload.ts; docs/format.md §3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RecordType } from '../../src/format/constants.js';
import { isSessiondError } from '../../src/errors.js';
import { payloadId, type Payload } from '../../src/session/session-payload.js';
import { encodeDelete, encodeTombstone, encodePatch, encodePatchInto, encodePut, encodePutInto, encodeTouch, encodedPutBytes, patchPayloadBytes, putPayloadBytes } from '../../src/session/session-encoder.js';
import { decodePayload } from '../../src/session/session-decoder.js';
import { makeState, type SessionState } from '../../src/session/session-state.js';
import { Prng } from '../../src/util/prng.js';
import { resolveEncryption } from '../../src/session/attr-seal.js';

const SEAL = resolveEncryption({ keys: { 'key-1': Buffer.alloc(32, 7) }, current: 'key-1' });

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'.split('');
const ID = 'AbCdEfGhIjKlMnOpQrStUvWx';
const TYPES = [RecordType.PUT, RecordType.PATCH, RecordType.TOUCH, RecordType.DELETE, RecordType.TOMBSTONE] as const;

/** Any ID the engine accepts (SPEC E1): generated ones, short names, prefixes, any script, up to 512 UTF-8 bytes. */
const arbId = fc.oneof(
  fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 16, maxLength: 128 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => Buffer.byteLength(s) <= 512),
  fc.integer({ min: 1, max: 512 }).map((n) => 'k'.repeat(n)),
  fc.integer({ min: 1, max: 128 }).map((n) => '🔑'.repeat(n)),
);
const u64 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const version = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
/** Well-formed text only: lone surrogates do not survive UTF-8. */
const arbOwner = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255);
const arbText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('', '"a"\u00011\u0000"b"\u0001{"x":[1,2]}', '"\u00e9"\u0001"🔑"'),
);

const arbState: fc.Arbitrary<SessionState> = fc
  .tuple(arbId, version, u64, u64, u64, u32, arbOwner, arbText, arbOwner)
  .map(([id, v, created, access, expires, inactive, owner, attrs, principal]) => makeState(id, v, 0, created, access, expires, inactive, owner, attrs, principal));

/** Any payload together with its encoding. */
const arbEncoded: fc.Arbitrary<{ payload: Payload; bytes: Buffer }> = fc.oneof(
  arbState.map((state) => ({ payload: { type: RecordType.PUT, state } as Payload, bytes: encodePut(state) })),
  fc
    .record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64, maxInactiveMs: u32, principal: arbOwner, set: arbText, removed: arbText })
    .map((p) => ({ payload: { type: RecordType.PATCH, ...p } as Payload, bytes: encodePatch(p) })),
  fc
    .record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64 })
    .map((p) => ({ payload: { type: RecordType.TOUCH, ...p } as Payload, bytes: encodeTouch(p) })),
  fc.record({ id: arbId, version }).map((p) => ({ payload: { type: RecordType.DELETE, ...p } as Payload, bytes: encodeDelete(p) })),
  fc.record({ id: arbId, version, destroyedAtMs: u64 }).map((p) => ({ payload: { type: RecordType.TOMBSTONE, ...p } as Payload, bytes: encodeTombstone(p) })),
);

/** One fixed payload of each type, with multi-byte UTF-8 in every string. */
function samples(id = ID, v = 7): Array<{ type: number; bytes: Buffer }> {
  const state = makeState(id, v, 0, 1_700_000_000_000, 1_700_000_000_500, 1_700_086_400_000, 3_600_000, 'höst-1', '"k"\u0001"välue"', 'ålice');
  return [
    { type: RecordType.PUT, bytes: encodePut(state) },
    { type: RecordType.PATCH, bytes: encodePatch({ id, version: v, lastAccessAtMs: 5, expiresAtMs: 6, maxInactiveMs: 7, principal: 'bøb', set: '"a"\u00011', removed: '"b"\u0000"ç"' }) },
    { type: RecordType.TOUCH, bytes: encodeTouch({ id, version: v, lastAccessAtMs: 5, expiresAtMs: 0 }) },
    { type: RecordType.DELETE, bytes: encodeDelete({ id, version: v }) },
    { type: RecordType.TOMBSTONE, bytes: encodeTombstone({ id, version: v, destroyedAtMs: 1_700_000_000_900 }) },
  ];
}

function isCorrupt(e: unknown): boolean {
  assert.ok(isSessiondError(e, 'SESSIOND_RECORD_CORRUPT'), `expected SESSIOND_RECORD_CORRUPT, got ${String(e)}`);
  return true;
}

/** Byte offsets of the u64 fields of each type, right after `str16 id`. */
function u64Offsets(type: number, idBytes: number): number[] {
  const first = 2 + idBytes;
  const count = { [RecordType.PUT]: 4, [RecordType.PATCH]: 3, [RecordType.TOUCH]: 3, [RecordType.DELETE]: 1, [RecordType.TOMBSTONE]: 2 }[type] ?? 0;
  return Array.from({ length: count }, (_, i) => first + 8 * i);
}

describe('session payload codec', () => {
  it('round-trips every payload type (property)', () => {
    fc.assert(
      fc.property(arbEncoded, ({ payload, bytes }) => {
        const expected = payload.type === RecordType.PUT ? { ...payload, state: { ...payload.state, lsn: 0 } } : payload;
        assert.deepEqual(decodePayload(payload.type, bytes), expected);
      }),
    );
  });

  it('counts the bytes of a PUT and a PATCH without encoding them, exactly (property)', () => {
    fc.assert(fc.property(arbState, (s) => assert.equal(putPayloadBytes(s), encodePut(s).length)));
    fc.assert(
      fc.property(fc.record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64, maxInactiveMs: u32, principal: arbOwner, set: arbText, removed: arbText }), (p) => {
        assert.equal(patchPayloadBytes(p), encodePatch(p).length);
        // Sealed (format v3 §3.7): the count the write plan compares is the encoded size too.
        assert.equal(patchPayloadBytes(p, SEAL), encodePatch(p, SEAL).length);
      }),
    );
  });

  it('encodes a clear PUT and PATCH to the bytes format.md §3.1-3.2 spell out, built field by field here (property)', () => {
    const u64le = (v: number): Buffer => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(v));
      return b;
    };
    const u32le = (v: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      return b;
    };
    const str = (s: string, lenBytes: 1 | 2 | 4): Buffer => {
      const b = Buffer.from(s, 'utf8');
      const n = Buffer.alloc(lenBytes);
      n.writeUIntLE(b.length, 0, lenBytes);
      return Buffer.concat([n, b]);
    };
    const clearSealable = (...parts: string[]): Buffer => Buffer.concat([Buffer.from([0]), ...parts.map((x) => str(x, 4))]);
    fc.assert(
      fc.property(arbState, (st) => {
        const expected = Buffer.concat([str(st.id, 2), u64le(st.version), u64le(st.createdAtMs), u64le(st.lastAccessAtMs), u64le(st.expiresAtMs), u32le(st.maxInactiveMs), str(st.owner, 1), str(st.principal, 1), clearSealable(st.attrs)]);
        assert.deepEqual(encodePut(st), expected);
      }),
    );
    fc.assert(
      fc.property(fc.record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64, maxInactiveMs: u32, principal: arbOwner, set: arbText, removed: arbText }), (p) => {
        const expected = Buffer.concat([str(p.id, 2), u64le(p.version), u64le(p.lastAccessAtMs), u64le(p.expiresAtMs), u32le(p.maxInactiveMs), str(p.principal, 1), clearSealable(p.set, p.removed)]);
        assert.deepEqual(encodePatch(p), expected);
      }),
    );
  });

  it('encodes a PUT and a PATCH in place at an offset of a larger buffer: the same bytes, nothing around them touched (property)', () => {
    const SENTINEL = 0xa5;
    const arbPatch = fc.record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64, maxInactiveMs: u32, principal: arbOwner, set: arbText, removed: arbText });
    fc.assert(
      fc.property(arbState, arbPatch, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }), fc.boolean(), (st, p, before, after, plain) => {
        for (const [bytes, into] of [
          [encodePut(st), (t: Uint8Array, at: number) => encodePutInto(t, at, st)],
          [encodePatch(p), (t: Uint8Array, at: number) => encodePatchInto(t, at, p)],
        ] as const) {
          // A Buffer target, or a plain Uint8Array (the codec wraps it in a Buffer view).
          const target = plain ? new Uint8Array(before + bytes.length + after).fill(SENTINEL) : Buffer.alloc(before + bytes.length + after, SENTINEL);
          assert.equal(into(target, before), before + bytes.length);
          assert.deepEqual(Buffer.from(target.subarray(before, before + bytes.length)), bytes);
          assert.ok(target.subarray(0, before).every((x) => x === SENTINEL), 'bytes before untouched');
          assert.ok(target.subarray(before + bytes.length).every((x) => x === SENTINEL), 'bytes after untouched');
        }
      }),
    );
  });

  it('counts a sealed or clear PUT exactly (encodedPutBytes), and a sealed PUT or PATCH encoded in place decodes to what was encoded (property)', () => {
    // The seal's AAD is the payload's clear bytes from the payload's first byte, not from
    // the group buffer's: records before it in the buffer must not enter it.
    fc.assert(
      fc.property(fc.record({ id: arbId, version, lastAccessAtMs: u64, expiresAtMs: u64, maxInactiveMs: u32, principal: arbOwner, set: arbText, removed: arbText }), fc.integer({ min: 1, max: 16 }), (p, at) => {
        const target = Buffer.alloc(at + patchPayloadBytes(p, SEAL), 0x5a);
        assert.equal(encodePatchInto(target, at, p, SEAL), target.length);
        assert.deepEqual(decodePayload(RecordType.PATCH, target.subarray(at), undefined, SEAL), { type: RecordType.PATCH, ...p });
      }),
    );
    fc.assert(
      fc.property(arbState, fc.integer({ min: 0, max: 16 }), (st, at) => {
        assert.equal(encodedPutBytes(st), encodePut(st).length);
        assert.equal(encodedPutBytes(st, SEAL), encodePut(st, SEAL).length);
        const target = Buffer.alloc(at + encodedPutBytes(st, SEAL));
        assert.equal(encodePutInto(target, at, st, SEAL), target.length);
        const d = decodePayload(RecordType.PUT, target.subarray(at), undefined, SEAL);
        assert.deepEqual(d, { type: RecordType.PUT, state: { ...st, lsn: 0 } });
      }),
    );
  });

  it('decodes a payload that sits at an offset inside a larger buffer (property)', () => {
    fc.assert(
      fc.property(arbEncoded, fc.uint8Array({ minLength: 1, maxLength: 9 }), ({ payload, bytes }, pad) => {
        const big = Buffer.concat([pad, bytes, pad]);
        const view = big.subarray(pad.length, pad.length + bytes.length);
        assert.deepEqual(decodePayload(payload.type, view), decodePayload(payload.type, bytes));
      }),
    );
  });

  it('refuses every truncation of a payload as corrupt (property)', () => {
    fc.assert(
      fc.property(arbEncoded, ({ payload, bytes }) => {
        for (let cut = 0; cut < bytes.length; cut++) {
          assert.throws(() => decodePayload(payload.type, bytes.subarray(0, cut)), isCorrupt, `cut at ${cut} of ${bytes.length}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('refuses every truncation of the fixed samples as corrupt', () => {
    for (const { type, bytes } of samples()) {
      for (let cut = 0; cut < bytes.length; cut++) {
        assert.throws(() => decodePayload(type, bytes.subarray(0, cut)), isCorrupt, `type ${type} cut at ${cut}`);
      }
    }
  });

  it('refuses a payload with a trailing byte as corrupt', () => {
    for (const { type, bytes } of samples()) {
      for (const extra of [0, 0xff]) {
        assert.throws(() => decodePayload(type, Buffer.concat([bytes, Buffer.from([extra])])), isCorrupt, `type ${type}`);
      }
    }
  });

  it('refuses version 0 as corrupt', () => {
    for (const { type, bytes } of samples(ID, 0)) {
      assert.throws(() => decodePayload(type, bytes), isCorrupt, `type ${type}`);
    }
  });

  it('refuses an id that fails validation as corrupt', () => {
    const badIds = ['', 'a'.repeat(513), 'é'.repeat(256) + 'a'];
    for (const bad of badIds) {
      for (const { type, bytes } of samples(bad)) {
        assert.throws(() => decodePayload(type, bytes), isCorrupt, `type ${type} id ${JSON.stringify(bad)}`);
      }
    }
    // Bytes that are not UTF-8 (a lone 0xff, a truncated sequence) are not an ID.
    for (const { type, bytes } of samples()) {
      for (const byte of [0xff, 0xe9, 0x80]) {
        const bad = Buffer.from(bytes);
        bad[4] = byte;
        assert.throws(() => decodePayload(type, bad), isCorrupt, `type ${type} id byte ${byte}`);
      }
    }
  });

  it('refuses a u64 field above 2^53 - 1 as corrupt and accepts 2^53 - 1', () => {
    for (const { type, bytes } of samples()) {
      for (const at of u64Offsets(type, ID.length)) {
        const max = Buffer.from(bytes);
        max.writeUInt32LE(0xffff_ffff, at);
        max.writeUInt32LE(0x001f_ffff, at + 4);
        assert.doesNotThrow(() => decodePayload(type, max), `type ${type} field at ${at} = 2^53 - 1`);
        for (const high of [0x0020_0000, 0xffff_ffff]) {
          const big = Buffer.from(bytes);
          big.writeUInt32LE(0, at);
          big.writeUInt32LE(high, at + 4);
          assert.throws(() => decodePayload(type, big), isCorrupt, `type ${type} field at ${at} high word ${high}`);
        }
      }
    }
  });

  it('refuses an unknown record type as corrupt', () => {
    for (const type of [0, 6, 255, -1]) {
      assert.throws(() => decodePayload(type, samples()[0]!.bytes), isCorrupt, `type ${type}`);
    }
  });

  it('throws only SessiondError for random bytes of any type (fuzz, property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 300 }), (type, data) => {
        try {
          decodePayload(type, data);
        } catch (e) {
          isCorrupt(e);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('throws only SessiondError for mutated valid payloads, and an accepted payload re-encodes to its bytes (fuzz, seeded)', () => {
    const prng = new Prng(0x5e55_10d);
    const bases = [...samples(), ...samples('X'.repeat(128), Number.MAX_SAFE_INTEGER)];
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      const { type: baseType, bytes } = prng.pick(bases);
      const type = prng.bool(0.9) ? baseType : prng.pick([...TYPES, 0, 9]);
      const m = Buffer.from(bytes);
      const flips = 1 + prng.int(4);
      for (let f = 0; f < flips; f++) {
        const at = prng.int(m.length);
        m[at] = prng.bool(0.5) ? prng.int(256) : m[at]! ^ (1 << prng.int(8));
      }
      const data = prng.bool(0.2) ? m.subarray(0, prng.int(m.length + 1)) : m;
      let p: Payload;
      try {
        p = decodePayload(type, data);
      } catch (e) {
        isCorrupt(e);
        continue;
      }
      accepted++;
      const text = p.type === RecordType.PUT ? p.state.owner + p.state.attrs + p.state.principal : p.type === RecordType.PATCH ? p.set + p.removed + (p.principal ?? '') : '';
      if (text.includes('\ufffd')) continue; // invalid UTF-8 was replaced on decode
      assert.deepEqual(reencode(p), Buffer.from(data), `seed case ${i}`);
    }
    assert.ok(accepted > 0, 'some mutations keep a decodable payload');
  });
});

function reencode(p: Payload): Buffer {
  switch (p.type) {
    case RecordType.PUT:
      return encodePut(p.state);
    case RecordType.PATCH:
      return encodePatch(p);
    case RecordType.TOUCH:
      return encodeTouch(p);
    case RecordType.DELETE:
      return encodeDelete(p);
    case RecordType.TOMBSTONE:
      return encodeTombstone(p);
  }
}

describe('payloadId', () => {
  it('reads the id at the start of every payload type (property)', () => {
    fc.assert(
      fc.property(arbEncoded, ({ payload, bytes }) => {
        assert.equal(payloadId(bytes), payload.type === RecordType.PUT ? payload.state.id : payload.id);
      }),
    );
  });

  it('reads the id of a payload at an offset inside a larger buffer', () => {
    const { bytes } = samples()[3]!;
    const big = Buffer.concat([Buffer.from([1, 2, 3]), bytes]);
    assert.equal(payloadId(big.subarray(3)), ID);
  });

  it('is undefined for empty data, a length past the end, or an invalid id', () => {
    assert.equal(payloadId(new Uint8Array(0)), undefined);
    assert.equal(payloadId(Uint8Array.from([24])), undefined);
    assert.equal(payloadId(Uint8Array.from([24, 0, 65, 66])), undefined);
    assert.equal(payloadId(encodeDelete({ id: '', version: 1 })), undefined);
    assert.equal(payloadId(encodeDelete({ id: 'a'.repeat(513), version: 1 })), undefined);
    assert.equal(payloadId(encodeDelete({ id: 'koa:sess:a/b%c', version: 1 })), 'koa:sess:a/b%c');
  });

  it('reads the id even when the rest of the payload is damaged (recovery names the session)', () => {
    const { bytes } = samples()[0]!;
    assert.equal(payloadId(bytes.subarray(0, 2 + ID.length)), ID);
  });
});
