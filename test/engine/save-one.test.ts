// engine.saveOne / planSaveOne (src/engine/write-plan.ts): the one-attribute save sessiond
// serve's SET makes must plan exactly what save() with { [name]: value } plans (record type,
// record bytes, state), and the store must read back the same after a reopen.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isSessiondError } from '../../src/errors.js';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { planSave, planSaveOne, type WritePlan } from '../../src/engine/write-plan.js';
import { blobFromAttributes } from '../../src/session/attributes.js';
import { recordDataBytes } from '../../src/log/record-codec.js';
import { makeState, type SessionState } from '../../src/session/session-state.js';

const NOW = 1_700_000_000_000;
const limits = { sessionBytesMax: 1 << 20, sessionTtlMs: 3_600_000, owner: 'o1', principal: (s: { readonly attributes: ReadonlyMap<string, string> }) => (s.attributes.has('u') ? 'user' : undefined) };

const arbName = fc.oneof(fc.constantFrom('v', 'b', 'k', 'u', '__proto__', '"', '\\', 'é', ''), fc.string({ maxLength: 6 }));
const arbValue = fc.oneof(fc.constantFrom('"x"', '"y"', '1', 'null'), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)));
/** A base: absent, or a session holding some attributes (often just the one saveOne replaces). */
const arbBase = fc.option(
  fc.record({
    attrs: fc.uniqueArray(fc.tuple(arbName, arbValue), { selector: ([n]) => n, maxLength: 4 }),
    expiresAtMs: fc.constantFrom(0, NOW + 1000, NOW + 86_400_000),
    maxInactiveMs: fc.constantFrom(0, 0, 60_000),
  }),
  { nil: undefined },
);

function baseState(b: { attrs: Array<[string, string]>; expiresAtMs: number; maxInactiveMs: number } | undefined): SessionState | undefined {
  if (b === undefined) return undefined;
  return makeState('sess:one', 3, 7, NOW - 5000, NOW - 100, b.expiresAtMs, b.maxInactiveMs, 'o0', blobFromAttributes(new Map(b.attrs)), 'p0');
}

/** A plan as comparable data: its type, its state and the bytes its record encodes to. */
function comparable(p: WritePlan | SessionState): unknown {
  if (!('type' in p)) return { unchanged: p };
  return { type: p.type, state: p.state, bytes: Buffer.from(recordDataBytes(p.data)).toString('hex') };
}

describe('planSaveOne', () => {
  it('plans what planSave plans for { [name]: value }, whatever the base holds', () => {
    fc.assert(
      fc.property(arbBase, arbName, arbValue, fc.option(fc.constantFrom(0, NOW + 1000, NOW + 5000), { nil: undefined }), (b, name, value, expiresAtMs) => {
        const base = baseState(b);
        const one = planSaveOne(base, 'sess:one', name, value, expiresAtMs, NOW, limits);
        const whole = planSave(base, 'sess:one', { attributes: { [name]: value }, expiresAtMs }, NOW, limits);
        assert.deepEqual(comparable(one), comparable(whole));
        if (!('type' in whole)) assert.equal(one, base, 'nothing changed: the base itself');
      }),
      { numRuns: 2000 },
    );
  });

  it('a base holding that one attribute: the same value is no change, another value is a PATCH of the whole blob', () => {
    const base = makeState('sess:one', 1, 1, NOW, NOW, NOW + 1000, 0, 'o0', blobFromAttributes({ v: '"a"' }), '');
    assert.equal(planSaveOne(base, 'sess:one', 'v', '"a"', NOW + 1000, NOW, limits), base);
    const p = planSaveOne(base, 'sess:one', 'v', '"bb"', NOW + 1000, NOW, limits);
    assert.ok('type' in p);
    assert.equal(p.state.attrs, blobFromAttributes({ v: '"bb"' }));
    // A name that only starts like the old one is another attribute: the old one is removed.
    const longer = makeState('sess:one', 1, 1, NOW, NOW, NOW + 1000, 0, 'o0', blobFromAttributes({ vv: '"a"' }), '');
    const q = planSaveOne(longer, 'sess:one', 'v', '"a"', NOW + 1000, NOW, limits);
    assert.ok('type' in q);
    assert.equal(q.state.attrs, blobFromAttributes({ v: '"a"' }));
  });

  it('refuses what save refuses: a raw separator in the value, a name that is not a string, a bad expiry', () => {
    assert.throws(() => planSaveOne(undefined, 'sess:one', 'v', 'a\u0000b', undefined, NOW, limits), (e) => isSessiondError(e, 'SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE'));
    assert.throws(() => planSaveOne(undefined, 'sess:one', 7 as unknown as string, '"a"', undefined, NOW, limits), (e) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'));
    assert.throws(() => planSaveOne(undefined, 'sess:one', 'v', '"a"', -1, NOW, limits), (e) => isSessiondError(e, 'SESSIOND_INVALID_ARGUMENT'));
  });
});

describe('engine.saveOne', () => {
  it('is durable like save: the same states before and after a reopen, unchanged saves write nothing', async () => {
    const later = Date.now() + 86_400_000;
    const dir = mkdtempSync(join(tmpdir(), 'sessiond-save-one-'));
    try {
      let e = await SessionEngine.open({ dir });
      const a = await e.saveOne('sess:a', 'v', '"one"', later);
      const b = await e.save('sess:b', { attributes: { v: '"one"' }, expiresAtMs: later });
      assert.equal(a.attrs, b.attrs);
      const a2 = await e.saveOne('sess:a', 'v', '"two"');
      assert.equal(a2.version, 2);
      assert.equal(a2.expiresAtMs, later, 'no expiry given: kept');
      assert.equal(await e.saveOne('sess:a', 'v', '"two"'), a2, 'unchanged: the same state, no record');
      const a3 = await e.saveOne('sess:a', 'b', '"AAE="', 0);
      assert.equal(a3.attrs, blobFromAttributes({ b: '"AAE="' }), 'v replaced by b');
      await e.close();
      e = await SessionEngine.open({ dir });
      assert.deepEqual({ ...e.get('sess:a')!, lsn: 0 }, { ...a3, lsn: 0 });
      assert.equal(e.get('sess:a')!.version, 3);
      await e.destroy('sess:a');
      await assert.rejects(e.saveOne('sess:a', 'v', '"late"'), (err) => isSessiondError(err, 'SESSIOND_SESSION_DESTROYED'));
      await assert.rejects(e.saveOne('', 'v', '"x"'), (err) => isSessiondError(err, 'SESSIOND_INVALID_SESSION_ID'));
      await e.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
