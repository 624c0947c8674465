// A GET's value written from its JSON text (unit, property): ReplyWriter.bulkJsonText and
// json-text.ts unescape the escaped bytes in place to exactly what JSON.parse + bulkText
// write, and refuse (writing nothing) what only JSON.parse can read; writeValueReply then
// takes JSON.parse's path.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyWriter } from '../../src/server/reply-writer.js';
import { writeValueReply } from '../../src/server/key-value.js';
import { OK } from '../../src/server/resp-serializer.js';
import { ATTR_NAME_SEP } from '../../src/format/constants.js';
import type { SessionState } from '../../src/session/session-state.js';

/** What bulkText writes for `text`, after `before` (to start mid-block). */
function viaText(text: string, before: string): string {
  const w = new ReplyWriter();
  w.bulkText(before);
  w.bulkText(text);
  return w.take().toString('latin1');
}

/** bulkJsonText of the body of the JSON string `json` (with its quotes), after `before`; undefined when refused. */
function viaJson(json: string, before: string): string | undefined {
  const w = new ReplyWriter();
  w.bulkText(before);
  const pending = w.pendingBytes;
  const body = json.slice(1, -1);
  const ok = w.bulkJsonText(body, body.indexOf('\\'));
  if (!ok) {
    assert.equal(w.pendingBytes, pending, 'a refused text writes nothing');
    return undefined;
  }
  return w.take().toString('latin1');
}

/** A surrogate not in a pair: its UTF-8 is U+FFFD, and JSON.stringify escapes it. */
const hasLoneSurrogate = (s: string): boolean => /\p{Surrogate}/u.test(s);

describe('bulkJsonText: a JSON string unescaped into the reply', () => {
  it('property: writes what JSON.parse then bulkText write, for any text JSON.stringify escapes', () => {
    // Escapes dense (quotes, backslashes, control characters), any UTF-16 unit (lone surrogates
    // too), and long enough to grow past the first block, after a prefix of any length.
    const unit = fc.oneof(fc.constantFrom('"', '\\', '/', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', 'é', '€', '😀', 'a'), fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)));
    const text = fc.oneof(fc.array(unit, { maxLength: 60 }).map((a) => a.join('')), fc.string({ unit: 'binary', maxLength: 6000, size: 'max' }));
    fc.assert(
      fc.property(text, fc.string({ maxLength: 20_000, unit: 'grapheme-ascii', size: 'max' }), (s, before) => {
        const json = JSON.stringify(s);
        if (!json.includes('\\')) return;
        const got = viaJson(json, before);
        if (hasLoneSurrogate(s)) assert.equal(got, undefined);
        else assert.equal(got, viaText(s, before));
      }),
      { numRuns: 400 },
    );
  });

  it('reads every JSON escape, not only those JSON.stringify writes: \\/, upper-case hex, escaped ASCII and pairs, non-ASCII before the first escape', () => {
    for (const json of ['"\\/"', '"\\u00E9\\u00e9"', '"\\u0041\\u007f\\u0080\\u07FF\\u0800\\uFFFF"', '"\\uD83D\\uDE00 \\ud83d\\ude00"', '"é€😀\\n\\"x\\""', '"😀\\uD83D\\uDE00é"', '"x\\\\"', '"\\\\"']) {
      assert.equal(viaJson(json, 'ab'), viaText(JSON.parse(json) as string, 'ab'), json);
    }
  });

  it('property: ASCII text with escapes far apart and close together (runs moved whole or byte by byte)', () => {
    const ascii = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '~', ' ', '\\', '"', '\n', '/'), maxLength: 400, size: 'max' });
    const sparse = fc.tuple(fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 70, size: 'max' }), { minLength: 2, maxLength: 8 }), fc.constantFrom('\\', '"', '\n', '\u0001')).map(([runs, e]) => runs.join(e));
    fc.assert(
      fc.property(fc.oneof(ascii, sparse), fc.nat({ max: 300 }), (s, before) => {
        const json = JSON.stringify(s);
        if (json.includes('\\')) assert.equal(viaJson(json, 'p'.repeat(before)), viaText(s, 'p'.repeat(before)));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses, writing nothing, a bad or cut escape and a lone surrogate; the writer goes on', () => {
    for (const json of ['"\\x"', '"a\\"', '"\\u12"', '"\\u12G4"', '"\\uD800"', '"\\uDC00"', '"\\uD800\\u0041"', '"\\uD800x"', '"\\uD800\\uD800"', '"\\uDBFF\\uE000"']) {
      const w = new ReplyWriter();
      w.reply(OK, 2);
      const body = json.slice(1, -1);
      assert.equal(w.bulkJsonText(body, body.indexOf('\\')), false, json);
      w.bulkText('next');
      assert.equal(w.take().toString(), '+OK\r\n$4\r\nnext\r\n');
    }
  });

  it('refuses a backslash cut at the end of the text, whatever bytes follow it in the block', () => {
    const w = new ReplyWriter();
    // A refused text leaves its bytes past the writer's end: the cut text is then written over them.
    assert.equal(w.bulkJsonText('\\xnnnn', 0), false);
    assert.equal(w.bulkJsonText('a\\', 1), false);
    assert.equal(w.pendingBytes, 0);
  });
});

describe('writeValueReply', () => {
  const state = (attrs: string): SessionState => ({ id: 'k', version: 1, lsn: 1, createdAtMs: 0, lastAccessAtMs: 0, expiresAtMs: 0, maxInactiveMs: 0, owner: '', attrs }) as SessionState;
  const reply = (attrs: string): string => {
    const w = new ReplyWriter();
    writeValueReply(w, state(attrs));
    return w.take().toString('latin1');
  };

  it('writes a { v } value escaped or not, with few or many escapes, and one only JSON.parse reads, as the value', () => {
    // escapes few (unescaped in the reply) and many (JSON.parse: a JSON session value)
    const session = JSON.stringify({ cookie: { path: '/', httpOnly: true }, user: 'a\\b', cart: [{ sku: 'é', qty: 1 }] });
    for (const v of ['plain', 'VXKe\\Hog"K\n', 'é\\€', '\uD800 lone', '', session, '\\'.repeat(8), '\\'.repeat(9)]) {
      assert.equal(reply(`"v"${ATTR_NAME_SEP}${JSON.stringify(v)}`), viaText(v, '').slice('$0\r\n\r\n'.length), JSON.stringify(v));
    }
  });
});
