// Unit tests of the error registry (src/errors.ts) and its documentation (docs/errors.md):
// the table in the docs lists exactly the registry's codes with the same statuses.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERRORS, SessiondError, ioError, isSessiondError, type ErrorCode } from '../src/errors.js';

// dist/test/errors.test.js -> docs/errors.md at the repository root.
const DOC_URL = new URL('../../docs/errors.md', import.meta.url);
const ROW = /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|([^|]*)\|([^|]*)\|\s*$/;

interface DocRow {
  code: string;
  status: number;
  when: string;
  todo: string;
}

function docRows(): DocRow[] {
  const rows: DocRow[] = [];
  for (const line of readFileSync(DOC_URL, 'utf8').split('\n')) {
    if (!line.startsWith('| `')) continue;
    const m = ROW.exec(line);
    assert.ok(m, `docs/errors.md: malformed table row: ${line}`);
    rows.push({ code: m[1]!, status: Number(m[2]), when: m[3]!.trim(), todo: m[4]!.trim() });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('lists exactly the codes of the ERRORS registry, once each', () => {
    const codes = docRows().map((r) => r.code);
    assert.equal(new Set(codes).size, codes.length, `duplicated rows: ${codes.filter((c, i) => codes.indexOf(c) !== i).join(', ')}`);
    assert.deepEqual([...codes].sort(), Object.keys(ERRORS).sort());
  });

  it('gives each code the HTTP status of the registry', () => {
    for (const row of docRows()) {
      const entry = ERRORS[row.code as ErrorCode];
      assert.ok(entry, `${row.code} is not in ERRORS`);
      assert.equal(row.status, entry.status, row.code);
    }
  });

  it('says when each error happens and what to do about it', () => {
    for (const row of docRows()) {
      assert.ok(row.when.length > 0, `${row.code}: empty "when it happens"`);
      assert.ok(row.todo.length > 0, `${row.code}: empty "what to do"`);
    }
  });
});

describe('ERRORS registry', () => {
  it('names every code SESSIOND_* and gives it an HTTP error status and a message', () => {
    for (const [code, { status, message }] of Object.entries(ERRORS)) {
      assert.match(code, /^SESSIOND_[A-Z_]+$/);
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: status ${status}`);
      assert.ok(message.length > 0, code);
    }
  });
});

describe('SessiondError', () => {
  it('carries its code, the registry status and message, and its detail', () => {
    const e = new SessiondError('SESSIOND_SESSION_TOO_LARGE', '2000 bytes, limit 1024', { bytes: 2000 });
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'SessiondError');
    assert.equal(e.code, 'SESSIOND_SESSION_TOO_LARGE');
    assert.equal(e.status, 413);
    assert.equal(e.message, `${ERRORS.SESSIOND_SESSION_TOO_LARGE.message}: 2000 bytes, limit 1024`);
    assert.ok(e.stack?.includes('SessiondError'));
  });

  it('uses the registry message alone when there is no detail', () => {
    assert.equal(new SessiondError('SESSIOND_CLOSED').message, ERRORS.SESSIOND_CLOSED.message);
  });

  it('takes every code of the registry', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const e = new SessiondError(code);
      assert.equal(e.code, code);
      assert.equal(e.status, ERRORS[code].status);
    }
  });

  it('freezes a copy of its context', () => {
    const ctx: Record<string, string | number> = { file: 'log-0', offset: 512 };
    const e = new SessiondError('SESSIOND_LOG_CORRUPT', 'x', ctx);
    ctx.offset = 0;
    assert.deepEqual(e.context, { file: 'log-0', offset: 512 });
    assert.ok(Object.isFrozen(e.context));
    assert.throws(() => {
      (e.context as Record<string, unknown>).offset = 1;
    }, TypeError);
    assert.deepEqual(new SessiondError('SESSIOND_CLOSED').context, {});
  });

  it('keeps its cause', () => {
    const cause = new Error('EIO');
    assert.equal(new SessiondError('SESSIOND_IO', 'read', {}, { cause }).cause, cause);
    assert.equal(new SessiondError('SESSIOND_IO').cause, undefined);
  });
});

describe('isSessiondError', () => {
  it('recognizes a SessiondError, optionally of one code', () => {
    const e = new SessiondError('SESSIOND_QUEUE_FULL');
    assert.equal(isSessiondError(e), true);
    assert.equal(isSessiondError(e, 'SESSIOND_QUEUE_FULL'), true);
    assert.equal(isSessiondError(e, 'SESSIOND_QUEUE_TIMEOUT'), false);
  });

  it('refuses other errors and look-alikes', () => {
    const lookAlike = Object.assign(new Error('x'), { code: 'SESSIOND_QUEUE_FULL', status: 503 });
    for (const v of [lookAlike, new Error('x'), { code: 'SESSIOND_CLOSED' }, null, undefined, 'SESSIOND_CLOSED']) {
      assert.equal(isSessiondError(v), false, String(v));
      assert.equal(isSessiondError(v, 'SESSIOND_CLOSED'), false, String(v));
    }
  });
});

describe('ioError', () => {
  it('wraps a system error as SESSIOND_IO keeping errno, op, file and cause', () => {
    const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    const e = ioError('writev', '/data/log-0', cause);
    assert.ok(isSessiondError(e, 'SESSIOND_IO'));
    assert.equal(e.status, 500);
    assert.deepEqual(e.context, { op: 'writev', file: '/data/log-0', errno: 'ENOSPC' });
    assert.equal(e.cause, cause);
    assert.ok(e.message.includes('writev /data/log-0'));
    assert.ok(e.message.includes('no space left'));
  });

  it('leaves errno undefined when the cause has no string code', () => {
    for (const cause of [new Error('odd'), 'a string', null, undefined, { code: 5 }]) {
      const e = ioError('read', 'f', cause);
      assert.equal(e.code, 'SESSIOND_IO');
      assert.equal(e.context.errno, undefined);
      assert.equal(e.cause, cause);
    }
  });

  it('passes a SessiondError through unchanged', () => {
    const inner = new SessiondError('SESSIOND_LOCKED', 'held', { pid: 1 });
    assert.equal(ioError('lock', 'LOCK', inner), inner);
  });
});
