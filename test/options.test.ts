// Unit tests of engine option validation (src/options.ts): unknown keys refused by name,
// every limit bounded, defaults filled, the result frozen.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { isSessiondError } from '../src/errors.js';
import { OPTION_SPECS, resolveOptions, silentLogger, type EngineOptionsInput } from '../src/options.js';
import { nodeFileSystem } from '../src/fs/node-file-system.js';
import { systemClock } from '../src/clock.js';

const DIR = '/tmp/sessiond-options-test';

/** Checks a SESSIOND_INVALID_OPTION naming `option` in its message and its context. */
function invalidOption(option: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSessiondError(e, 'SESSIOND_INVALID_OPTION'), `expected SESSIOND_INVALID_OPTION, got ${String(e)}`);
    assert.equal(e.context.option, option);
    assert.ok(e.message.includes(option), `message ${JSON.stringify(e.message)} does not name ${option}`);
    return true;
  };
}

function resolveWith(extra: Record<string, unknown>): ReturnType<typeof resolveOptions> {
  return resolveOptions({ dir: DIR, ...extra } as EngineOptionsInput);
}

const INT_OPTIONS = Object.entries(OPTION_SPECS).filter(([, spec]) => spec.kind === 'int');

/** Options that must agree with one another get a partner value that lets each bound through. */
const PARTNERS: Record<string, Record<string, number>> = {
  writeQueueBytesMax: { sessionBytesMax: 1024 },
  sessionBytesMax: { writeQueueBytesMax: 4 * 1024 ** 3 },
  flushBacklogBytesMin: { flushBacklogBytesMax: 16 * 1024 ** 3 },
};

describe('resolveOptions', () => {
  it('refuses an unknown key, naming it in the message and context.option', () => {
    for (const key of ['flushIntervalMS', 'sessionTTL', 'store', '']) {
      assert.throws(() => resolveWith({ [key]: 1 }), invalidOption(key), key);
    }
  });

  it('refuses keys that only exist on Object.prototype (constructor, toString, __proto__ ...)', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.throws(() => resolveWith({ [key]: 1 }), invalidOption(key), key);
    }
    // JSON config files make __proto__ an own key.
    const fromJson = JSON.parse(`{"dir":${JSON.stringify(DIR)},"__proto__":{"durability":"none"}}`) as EngineOptionsInput;
    assert.throws(() => resolveOptions(fromJson), invalidOption('__proto__'));
  });

  it('accepts the extra keys a caller (an adapter) declares', () => {
    const o = resolveOptions({ dir: DIR, cookieName: 'sid' } as EngineOptionsInput, ['cookieName']);
    assert.equal((o as unknown as Record<string, unknown>).cookieName, undefined, 'extra keys are not copied');
  });

  it('requires dir', () => {
    assert.throws(() => resolveOptions({} as EngineOptionsInput), invalidOption('dir'));
    assert.throws(() => resolveOptions({ dir: undefined } as unknown as EngineOptionsInput), invalidOption('dir'));
    assert.throws(() => resolveOptions({ dir: '' }), invalidOption('dir'));
    assert.throws(() => resolveOptions({ dir: 42 } as unknown as EngineOptionsInput), invalidOption('dir'));
  });

  it('refuses options that are not an object', () => {
    for (const v of [null, undefined, 'dir', 42]) {
      assert.throws(() => resolveOptions(v as unknown as EngineOptionsInput), invalidOption('options'), String(v));
    }
  });

  it('enforces the minimum and maximum of every integer option, accepting both bounds', () => {
    assert.ok(INT_OPTIONS.length >= 15, 'the integer options are found');
    for (const [name, spec] of INT_OPTIONS) {
      assert.ok(spec.min !== undefined && spec.max !== undefined, `${name} has both bounds`);
      const p = PARTNERS[name] ?? {};
      assert.equal(resolveWith({ ...p, [name]: spec.min })[name as keyof typeof OPTION_SPECS], spec.min, `${name} = min`);
      assert.equal(resolveWith({ ...p, [name]: spec.max })[name as keyof typeof OPTION_SPECS], spec.max, `${name} = max`);
      assert.throws(() => resolveWith({ ...p, [name]: spec.min! - 1 }), invalidOption(name), `${name} = min - 1`);
      assert.throws(() => resolveWith({ ...p, [name]: spec.max! + 1 }), invalidOption(name), `${name} = max + 1`);
    }
  });

  it('refuses a non-integer, non-finite or non-number value for every integer option', () => {
    for (const [name, spec] of INT_OPTIONS) {
      for (const bad of [spec.min! + 0.5, Number.NaN, Number.POSITIVE_INFINITY, String(spec.min), BigInt(spec.min!), null, true, {}]) {
        assert.throws(() => resolveWith({ [name]: bad }), invalidOption(name), `${name} = ${String(bad)}`);
      }
    }
  });

  it('refuses wrong types for the boolean, string, enum and object options', () => {
    const cases: Array<[string, unknown]> = [
      ['salvage', 'yes'],
      ['salvage', 1],
      ['owner', ''],
      ['owner', 42],
      ['durability', 'sometimes'],
      ['durability', 'FSYNC'],
      ['durability', true],
      ['fs', null],
      ['fs', 'node'],
      ['clock', 123],
      ['logger', null],
    ];
    for (const [name, bad] of cases) {
      assert.throws(() => resolveWith({ [name]: bad }), invalidOption(name), `${name} = ${String(bad)}`);
    }
  });

  it('accepts each durability level', () => {
    for (const d of ['fsync', 'interval', 'none'] as const) assert.equal(resolveWith({ durability: d }).durability, d);
  });

  it('refuses an owner longer than 255 UTF-8 bytes (it is a str8 field) and accepts 255', () => {
    assert.throws(() => resolveWith({ owner: '€'.repeat(86) }), invalidOption('owner')); // 258 bytes
    assert.equal(resolveWith({ owner: 'x'.repeat(255) }).owner, 'x'.repeat(255));
  });

  it('fills every default', () => {
    const o = resolveOptions({ dir: DIR });
    assert.equal(o.dir, DIR);
    for (const [name, spec] of Object.entries(OPTION_SPECS)) {
      if (name === 'dir') continue;
      assert.deepEqual(o[name as keyof typeof OPTION_SPECS], spec.defaultValue(), name);
    }
    assert.equal(o.durability, 'fsync');
    assert.equal(o.owner, hostname().slice(0, 64));
    assert.equal(o.salvage, false);
    assert.equal(o.fs, nodeFileSystem);
    assert.equal(o.clock, systemClock);
    assert.equal(o.logger, silentLogger);
    assert.deepEqual(Object.keys(o).sort(), Object.keys(OPTION_SPECS).sort());
  });

  it('keeps the values given and treats undefined as not given', () => {
    const o = resolveWith({ flushIntervalMs: 250, salvage: true, owner: 'web-1', sessionTtlMs: undefined });
    assert.equal(o.flushIntervalMs, 250);
    assert.equal(o.salvage, true);
    assert.equal(o.owner, 'web-1');
    assert.equal(o.sessionTtlMs, OPTION_SPECS.sessionTtlMs.defaultValue());
  });

  it('returns a frozen object and leaves the input alone', () => {
    const input = { dir: DIR, flushIntervalMs: 500 };
    const o = resolveOptions(input);
    assert.ok(Object.isFrozen(o));
    assert.throws(() => {
      (o as { flushIntervalMs: number }).flushIntervalMs = 1;
    }, TypeError);
    assert.deepEqual(input, { dir: DIR, flushIntervalMs: 500 });
    assert.notEqual(o as unknown, input);
  });

  it('documents every option, with units in the names of numeric limits', () => {
    for (const [name, spec] of Object.entries(OPTION_SPECS)) {
      assert.ok(spec.doc.length > 0, `${name} has a doc`);
      if (spec.kind === 'int') assert.match(name, /(Ms|Bytes|Max|MsMax|BytesMax|BytesMin)$/, `${name} has its unit last`);
    }
  });
});

it('README documents every option (the options table and OPTION_SPECS never drift)', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const rows = new Set([...readme.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
  for (const name of Object.keys(OPTION_SPECS)) assert.ok(rows.has(name), `README's options table lacks ${name}`);
});

it('refuses a write queue too small for one record of the largest session', () => {
  assert.throws(
    () => resolveOptions({ dir: '/x', sessionBytesMax: 1024 * 1024, writeQueueBytesMax: 512 * 1024 }),
    (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'writeQueueBytesMax',
  );
  assert.ok(resolveOptions({ dir: '/x', sessionBytesMax: 64 * 1024, writeQueueBytesMax: 128 * 1024 }));
});

it('flushBacklogBytesMin: refused above flushBacklogBytesMax when given; its default follows a smaller flushBacklogBytesMax', () => {
  assert.throws(
    () => resolveOptions({ dir: '/x', flushBacklogBytesMin: 2 * 1024 * 1024, flushBacklogBytesMax: 1024 * 1024 }),
    (e: unknown) => isSessiondError(e, 'SESSIOND_INVALID_OPTION') && e.context.option === 'flushBacklogBytesMin',
  );
  assert.equal(resolveOptions({ dir: '/x', flushBacklogBytesMax: 1024 * 1024 }).flushBacklogBytesMin, 1024 * 1024);
  assert.equal(resolveOptions({ dir: '/x', flushBacklogBytesMin: 1024 * 1024, flushBacklogBytesMax: 1024 * 1024 }).flushBacklogBytesMin, 1024 * 1024);
  assert.equal(resolveOptions({ dir: '/x' }).flushBacklogBytesMin, OPTION_SPECS.flushBacklogBytesMin.defaultValue());
});
