/** Every public engine method refuses malformed arguments with a typed error naming the field (kind: unit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionEngine } from '../../src/engine/session-engine.js';
import { ManualClock } from '../../src/clock.js';
import { SimFileSystem } from '../../src/fs/sim-file-system.js';
import { isSessiondError } from '../../src/errors.js';

const ID = 'AAAAAAAAAAAAAAAAAAAAAAAA';

/** [call, the field the error must name]. Arguments a TypeScript caller cannot pass, as JavaScript callers do. */
type Call = (e: SessionEngine) => unknown;
const any = <T>(v: unknown): T => v as T;
const CASES: Array<[string, Call, string]> = [
  ['save(id, { attributes: null })', (e) => e.save(ID, { attributes: any(null) }), 'input.attributes'],
  ['save(id)', (e) => e.save(ID, any(undefined)), 'input'],
  ['save(id, null)', (e) => e.save(ID, any(null)), 'input'],
  ['save(id, [])', (e) => e.save(ID, any([])), 'input'],
  ['save(id, { attributes: "x" })', (e) => e.save(ID, { attributes: any('x') }), 'input.attributes'],
  ['save(id, { attributes: [] })', (e) => e.save(ID, { attributes: any([]) }), 'input.attributes'],
  ['save(id, { expiresAtMs: "5" })', (e) => e.save(ID, { attributes: {}, expiresAtMs: any('5') }), 'input.expiresAtMs'],
  ['save(id, { maxInactiveMs: null })', (e) => e.save(ID, { attributes: {}, maxInactiveMs: any(null) }), 'input.maxInactiveMs'],
  ['save(id, { expiresAt }) (a typo)', (e) => e.save(ID, any({ attributes: {}, expiresAt: 5 })), 'input.expiresAt'],
  ['save(undefined, input)', (e) => e.save(any(undefined), { attributes: {} }), 'id'],
  ['save(42, input)', (e) => e.save(any(42), { attributes: {} }), 'id'],
  ['create(null)', (e) => e.create(any(null)), 'input'],
  ['create({ attributes: undefined })', (e) => e.create(any({ attributes: undefined })), 'input.attributes'],
  ['patch(id)', (e) => e.patch(ID, any(undefined)), 'input'],
  ['patch(id, { set: null })', (e) => e.patch(ID, { set: any(null) }), 'input.set'],
  ['patch(id, { remove: "a" })', (e) => e.patch(ID, { remove: any('a') }), 'input.remove'],
  ['patch(id, { remove: [1] })', (e) => e.patch(ID, { remove: any([1]) }), 'input.remove'],
  ['patch(id, { expiresAtMs: {} })', (e) => e.patch(ID, { expiresAtMs: any({}) }), 'input.expiresAtMs'],
  ['patch(null, input)', (e) => e.patch(any(null), {}), 'id'],
  ['touch(id, null)', (e) => e.touch(ID, any(null)), 'input'],
  ['touch(id, { expiresAtMs: "x" })', (e) => e.touch(ID, { expiresAtMs: any('x') }), 'input.expiresAtMs'],
  ['touch(id, { maxInactiveMs }) (not a touch field)', (e) => e.touch(ID, any({ maxInactiveMs: 5 })), 'input.maxInactiveMs'],
  ['touch(undefined)', (e) => e.touch(any(undefined)), 'id'],
  ['destroy(undefined)', (e) => e.destroy(any(undefined)), 'id'],
  ['destroy({})', (e) => e.destroy(any({})), 'id'],
  ['get(undefined)', (e) => e.get(any(undefined)), 'id'],
  ['get(1)', (e) => e.get(any(1)), 'id'],
  ['isDestroyed(null)', (e) => e.isDestroyed(any(null)), 'id'],
  ['lock(null)', (e) => e.lock(any(null)), 'id'],
  ['withSession(5, fn)', (e) => e.withSession(any(5), () => 1), 'id'],
  ['withSession(id, null)', (e) => e.withSession(ID, any(null)), 'fn'],
];

test('every public engine method refuses a malformed call with SESSIOND_INVALID_ARGUMENT naming the field, never a TypeError', async () => {
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock: new ManualClock(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  await e.save(ID, { attributes: { a: '1' } }); // patch and touch find a session: only the arguments can be wrong
  for (const [name, call, argument] of CASES) {
    let err: unknown;
    try {
      await call(e);
    } catch (x) {
      err = x;
    }
    assert.ok(isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT'), `${name}: expected SESSIOND_INVALID_ARGUMENT, got ${String(err)}`);
    assert.equal(err.context.argument, argument, `${name}: names the field`);
  }
  // Nothing was written by the refused calls, and well-formed calls still work.
  assert.equal(e.get(ID)!.version, 1);
  assert.equal((await e.patch(ID, { set: { b: '2' }, remove: ['a'] })).version, 2);
  assert.equal((await e.touch(ID, {}))!.version, 3);
  assert.equal(await e.withSession(ID, () => 7), 7);
  await e.close();
});

test('the writes refuse a malformed call by rejecting their promise, not by throwing (touch is not an async function: h/serve12)', async () => {
  const e = await SessionEngine.open({ dir: '/s', fs: new SimFileSystem(), clock: new ManualClock(), flushIntervalMs: 3_600_000, expiryIntervalMs: 3_600_000 });
  await e.save(ID, { attributes: { a: '1' } });
  for (const [name, call, argument] of CASES.filter(([n]) => /^(save|patch|touch|destroy)\(/.test(n))) {
    let p: unknown;
    assert.doesNotThrow(() => (p = call(e)), `${name}: threw instead of rejecting`);
    assert.ok(p instanceof Promise, `${name}: returns a promise`);
    await assert.rejects(p, (err: unknown) => isSessiondError(err, 'SESSIOND_INVALID_ARGUMENT') && err.context.argument === argument, name);
  }
  await e.close();
});
