// Unit and property tests of the attribute blob (src/session/attributes.ts, docs/format.md §3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isSessiondError } from '../../src/errors.js';
import {
  applyPatch,
  attributesFromBlob,
  blobFromAttributes,
  blobToJsonObject,
  decodeNames,
  diffAttributes,
  encodeNames,
  serializeObject,
  serializeValue,
} from '../../src/session/attributes.js';

/** Names that break naive encodings: quotes, backslashes, separators, prototype keys. */
const NASTY_NAMES = ['', '__proto__', 'constructor', 'toString', '"', '\\', '\\"', '\u0000', '\u0001', 'a\u0000b\u0001c', ':', ',', '{}', '0', '01', '🔑', 'é', '\ud800'];

const arbName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY_NAMES),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

/** A serialized value as the default serializer makes it: JSON text. */
const arbValue: fc.Arbitrary<string> = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v));

const arbEntries: fc.Arbitrary<Array<[string, string]>> = fc.uniqueArray(fc.tuple(arbName, arbValue), {
  selector: ([name]) => name,
  maxLength: 10,
});

function notSerializable(attribute?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isSessiondError(e, 'SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE'), `got ${String(e)}`);
    if (attribute !== undefined) assert.equal(e.context.attribute, attribute);
    return true;
  };
}

describe('attribute blob', () => {
  it('round-trips any names and JSON values through a Map (property)', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        assert.deepEqual(attributesFromBlob(blobFromAttributes(new Map(entries))), new Map(entries));
      }),
    );
  });

  it('round-trips the same attributes given as a plain object, __proto__ included (property)', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        // Object.fromEntries defines own properties, so '__proto__' is a key, not the prototype.
        assert.deepEqual(attributesFromBlob(blobFromAttributes(Object.fromEntries(entries))), new Map(entries));
      }),
    );
  });

  it('keeps every name given, including the empty string and __proto__', () => {
    const input = new Map([
      ['', '1'],
      ['__proto__', '{"admin":true}'],
      ['"quoted"', '"x"'],
      ['back\\slash', 'null'],
    ]);
    const out = attributesFromBlob(blobFromAttributes(input));
    assert.deepEqual([...out.keys()], [...input.keys()]);
    assert.equal(Object.getPrototypeOf({}), Object.prototype, 'no prototype was polluted');
  });

  it('encodes no attributes as the empty blob', () => {
    assert.equal(blobFromAttributes({}), '');
    assert.equal(blobFromAttributes(new Map()), '');
    assert.deepEqual(attributesFromBlob(''), new Map());
  });

  it('writes the layout of docs/format.md §3: JSON name \\x01 value, joined by \\x00', () => {
    assert.equal(blobFromAttributes(new Map([['a', '1'], ['b"', '[2]']])), '"a"\u00011\u0000"b\\""\u0001[2]');
  });

  it('blobToJsonObject parses to the same object as the attributes (property)', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        const expected = Object.fromEntries(entries.map(([n, v]) => [n, JSON.parse(v) as unknown]));
        assert.deepEqual(JSON.parse(blobToJsonObject(blobFromAttributes(new Map(entries)))), expected);
      }),
    );
  });

  it('blobToJsonObject of the empty blob is {}', () => {
    assert.equal(blobToJsonObject(''), '{}');
  });

  it('refuses a pre-serialized value holding a raw \\u0000 or \\u0001', () => {
    for (const bad of ['"a\u0000b"', '\u0001', 'x\u0000', '{"k":"\u0001"}']) {
      assert.throws(() => blobFromAttributes({ name: bad }), notSerializable('name'));
      assert.throws(() => blobFromAttributes(new Map([['name', bad]])), notSerializable('name'));
      assert.throws(() => diffAttributes('', { name: bad }), notSerializable('name'));
    }
  });

  it('accepts the escaped forms \\\\u0000 and \\\\u0001 that JSON.stringify writes', () => {
    const value = JSON.stringify('a\u0000b\u0001c');
    assert.deepEqual(attributesFromBlob(blobFromAttributes({ k: value })), new Map([['k', value]]));
  });

  it('refuses a value that is not a string (a caller skipped serialization)', () => {
    const input = { n: 42 } as unknown as Record<string, string>;
    assert.throws(() => blobFromAttributes(input), notSerializable('n'));
  });
});

describe('removed-name list', () => {
  it('round-trips any list of names (property)', () => {
    fc.assert(
      fc.property(fc.array(arbName, { maxLength: 10 }), (names) => {
        assert.deepEqual(decodeNames(encodeNames(names)), names);
      }),
    );
  });
});

describe('diffAttributes', () => {
  /** Old and new attributes over one pool of names, with few values so that many are equal. */
  const arbOldNew = fc
    .uniqueArray(arbName, { maxLength: 8 })
    .chain((names) =>
      fc.tuple(
        fc.constant(names),
        fc.array(fc.option(fc.oneof(fc.constantFrom('1', '"a"', 'null'), arbValue), { nil: undefined }), { minLength: names.length, maxLength: names.length }),
        fc.array(fc.option(fc.oneof(fc.constantFrom('1', '"a"', 'null'), arbValue), { nil: undefined }), { minLength: names.length, maxLength: names.length }),
      ),
    )
    .map(([names, olds, news]) => {
      const oldAttrs = new Map<string, string>();
      const newAttrs = new Map<string, string>();
      names.forEach((n, i) => {
        if (olds[i] !== undefined) oldAttrs.set(n, olds[i]);
        if (news[i] !== undefined) newAttrs.set(n, news[i]);
      });
      return { oldAttrs, newAttrs };
    });

  it('applying the diff to the old blob gives the new attributes (property)', () => {
    fc.assert(
      fc.property(arbOldNew, ({ oldAttrs, newAttrs }) => {
        const oldBlob = blobFromAttributes(oldAttrs);
        const d = diffAttributes(oldBlob, newAttrs);
        const patched = applyPatch(oldBlob, d.set, decodeNames(d.removedNames));
        assert.deepEqual(attributesFromBlob(patched), newAttrs);
        // The live merge and the replay (applyPatch) agree to the byte, order included.
        assert.equal(d.changed ? d.merged : oldBlob, patched);
      }),
    );
  });

  it('sets exactly the changed and added attributes and removes exactly the dropped ones (property)', () => {
    fc.assert(
      fc.property(arbOldNew, ({ oldAttrs, newAttrs }) => {
        const d = diffAttributes(blobFromAttributes(oldAttrs), newAttrs);
        const expectedSet = new Map([...newAttrs].filter(([n, v]) => oldAttrs.get(n) !== v));
        const expectedRemoved = [...oldAttrs.keys()].filter((n) => !newAttrs.has(n));
        assert.deepEqual(attributesFromBlob(d.set), expectedSet);
        assert.deepEqual([...decodeNames(d.removedNames)].sort(), [...expectedRemoved].sort());
        assert.equal(d.changed, expectedSet.size > 0 || expectedRemoved.length > 0);
      }),
    );
  });

  it('with the old names in the old order: sets exactly the changed values, merges in place, shares the old blob when unchanged (property)', () => {
    fc.assert(
      fc.property(
        arbEntries.chain((old) => fc.tuple(fc.constant(old), fc.array(fc.option(arbValue, { nil: undefined }), { minLength: old.length, maxLength: old.length }))),
        ([old, changes]) => {
          const oldAttrs = new Map(old);
          const newAttrs = new Map(old.map(([n, v], i) => [n, changes[i] ?? v]));
          const oldBlob = blobFromAttributes(oldAttrs);
          const d = diffAttributes(oldBlob, newAttrs);
          const expectedSet = new Map([...newAttrs].filter(([n, v]) => oldAttrs.get(n) !== v));
          assert.deepEqual(attributesFromBlob(d.set), expectedSet);
          assert.equal(d.removedNames, '');
          assert.equal(d.changed, expectedSet.size > 0);
          assert.equal(d.merged, blobFromAttributes(newAttrs));
          assert.equal(d.merged, applyPatch(oldBlob, d.set, []));
          if (!d.changed) assert.equal(d.merged, oldBlob);
        },
      ),
    );
  });

  it('with every value changed in place: the merged blob is the set blob, and applyPatch\'s to the byte (property)', () => {
    fc.assert(
      fc.property(arbEntries, fc.integer({ min: 0, max: 3 }), (old, keep) => {
        // Every value changed, or all but one (the `keep`-th): merged and set differ then.
        const oldAttrs = new Map(old);
        const newAttrs = new Map(old.map(([n, v], i) => [n, i === keep ? v : `${v === '1' ? '2' : '1'}`]));
        const oldBlob = blobFromAttributes(oldAttrs);
        const d = diffAttributes(oldBlob, newAttrs);
        assert.equal(d.merged, blobFromAttributes(newAttrs));
        assert.equal(d.merged, applyPatch(oldBlob, d.set, []));
        assert.deepEqual(attributesFromBlob(d.set), new Map([...newAttrs].filter(([n, v]) => oldAttrs.get(n) !== v)));
      }),
    );
  });

  it('falls back to a full diff when a name is added, dropped, renamed or moved', () => {
    const old = blobFromAttributes({ a: '1', b: '2', c: '3' });
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ a: '1', b: '2', c: '3', d: '4' }, []],
      [{ a: '1', b: '2' }, ['c']],
      [{ a: '1', bb: '2', c: '3' }, ['b']],
      [{ a: '1', c: '3', b: '9' }, []],
      [{ a: '1', b: '2', c: '3', '': '5' }, []],
    ];
    for (const [next, removed] of cases) {
      const d = diffAttributes(old, next);
      assert.deepEqual(decodeNames(d.removedNames), removed, JSON.stringify(next));
      assert.deepEqual(attributesFromBlob(applyPatch(old, d.set, decodeNames(d.removedNames))), new Map(Object.entries(next)));
      assert.equal(d.merged, applyPatch(old, d.set, decodeNames(d.removedNames)));
    }
  });

  it('says unchanged for the same attributes in another order', () => {
    const d = diffAttributes(blobFromAttributes(new Map([['a', '1'], ['b', '2']])), new Map([['b', '2'], ['a', '1']]));
    assert.deepEqual({ set: d.set, removedNames: d.removedNames, changed: d.changed }, { set: '', removedNames: '', changed: false });
  });

  it('takes the new attributes as a plain object too', () => {
    const d = diffAttributes(blobFromAttributes({ a: '1', b: '2' }), { a: '1', b: '3', c: '4' });
    assert.deepEqual(attributesFromBlob(d.set), new Map([['b', '3'], ['c', '4']]));
    assert.equal(d.removedNames, '');
    assert.equal(d.changed, true);
    assert.equal(d.merged, blobFromAttributes({ a: '1', b: '3', c: '4' }));
  });
});

describe('serializeValue', () => {
  it('gives the JSON text of JSON values (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        assert.equal(serializeValue('k', v), JSON.stringify(v));
      }),
    );
  });

  it('refuses a BigInt with NOT_SERIALIZABLE, naming the attribute and keeping the TypeError', () => {
    assert.throws(
      () => serializeValue('count', 10n),
      (e) => notSerializable('count')(e) && (e as Error).cause instanceof TypeError,
    );
    assert.throws(() => serializeValue('nested', { a: [1n] }), notSerializable('nested'));
  });

  it('refuses a circular object with NOT_SERIALIZABLE', () => {
    const loop: Record<string, unknown> = { a: 1 };
    loop.self = loop;
    assert.throws(() => serializeValue('loop', loop), notSerializable('loop'));
  });

  it('refuses a function, a symbol or undefined at the top with NOT_SERIALIZABLE', () => {
    for (const v of [() => 1, Symbol('s'), undefined, { toJSON: () => undefined }]) {
      assert.throws(() => serializeValue('top', v), notSerializable('top'));
    }
  });

  it('never writes a raw blob separator, whatever string it is given (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const text = serializeValue('k', s);
        assert.ok(!text.includes('\u0000') && !text.includes('\u0001'));
      }),
    );
  });
});

describe('serializeObject', () => {
  it('skips undefined values and functions, as JSON.stringify does', () => {
    assert.deepEqual(serializeObject({ a: 1, u: undefined, f: () => 2, n: null, s: 'x' }), { a: '1', n: 'null', s: '"x"' });
  });

  it('serializes every own enumerable property to its JSON text (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(arbName, fc.jsonValue({ maxDepth: 2 })), { selector: ([n]) => n, maxLength: 8 }), (entries) => {
        const out = serializeObject(Object.fromEntries(entries));
        assert.deepEqual(new Map(Object.entries(out)), new Map(entries.map(([n, v]) => [n, JSON.stringify(v)])));
      }),
    );
  });

  it('keeps an attribute named __proto__ (as JSON.parse makes it) instead of dropping it', () => {
    const parsed = JSON.parse('{"__proto__":{"admin":true},"a":1}') as Record<string, unknown>;
    const out = serializeObject(parsed);
    assert.deepEqual(Object.keys(out).sort(), ['__proto__', 'a']);
    assert.deepEqual(attributesFromBlob(blobFromAttributes(out)), new Map([['__proto__', '{"admin":true}'], ['a', '1']]));
  });

  it('refuses a nested BigInt with NOT_SERIALIZABLE naming the attribute', () => {
    assert.throws(() => serializeObject({ ok: 1, bad: { n: 1n } }), notSerializable('bad'));
  });
});
