import { SessiondError } from '../errors.js';
import { ATTR_NAME_SEP, ATTR_SEP, OWNER_BYTES_MAX } from '../format/constants.js';
import { attributesFromBlob } from '../session/attributes.js';
import { isValidSessionId, SESSION_ID_BYTES_MAX } from '../session/session-id.js';
import type { SessionState } from '../session/session-state.js';

/**
 * One line of an export file (docs/format.md §7): the writer and the reader. The reader
 * checks every field, so that the validation pass of an import refuses a bad line before
 * anything is applied, and names the line and the field.
 */

export const EXPORT_LINE_VERSION = 1;

/** A session as an export line carries it; `owner` undefined: the importing store's. */
export interface ExportedSession {
  readonly id: string;
  readonly createdAtMs: number;
  readonly lastAccessAtMs: number;
  readonly expiresAtMs: number;
  readonly maxInactiveMs: number;
  readonly owner: string | undefined;
  /** name → serialized value, in the session's order. */
  readonly attributes: Readonly<Record<string, string>>;
}

const KEYS = ['v', 'id', 'createdAtMs', 'lastAccessAtMs', 'expiresAtMs', 'maxInactiveMs', 'owner', 'attributes'] as const;
const U32_MAX = 0xffff_ffff;

/** Longest line a reader accepts for a store's sessionBytesMax (6: the JSON escape `\u0002` of one byte). */
export function lineBytesMaxFor(sessionBytesMax: number): number {
  return 6 * sessionBytesMax + 64 * 1024;
}

/** The line (without its newline) for a session, attributes exactly as the engine holds them. */
export function exportLine(s: ExportedSession): string {
  // Built by hand so that the field order is fixed and '__proto__' stays an ordinary name.
  const attrs = Object.entries(s.attributes).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
  const owner = s.owner === undefined ? '' : `,"owner":${JSON.stringify(s.owner)}`;
  return (
    `{"v":${EXPORT_LINE_VERSION},"id":${JSON.stringify(s.id)},"createdAtMs":${s.createdAtMs},"lastAccessAtMs":${s.lastAccessAtMs}` +
    `,"expiresAtMs":${s.expiresAtMs},"maxInactiveMs":${s.maxInactiveMs}${owner},"attributes":{${attrs.join(',')}}}`
  );
}

/** A state of the engine as an exported session. */
export function exportedFromState(s: SessionState): ExportedSession {
  const attributes: Record<string, string> = {};
  for (const [k, v] of attributesFromBlob(s.attrs)) Object.defineProperty(attributes, k, { value: v, enumerable: true, writable: true, configurable: true });
  return { id: s.id, createdAtMs: s.createdAtMs, lastAccessAtMs: s.lastAccessAtMs, expiresAtMs: s.expiresAtMs, maxInactiveMs: s.maxInactiveMs, owner: s.owner, attributes };
}

export function lineError(line: number, field: string, detail: string): SessiondError {
  return new SessiondError('SESSIOND_IMPORT_LINE_INVALID', `line ${line}: ${field}: ${detail}`, { line, field });
}

function time(o: Record<string, unknown>, field: string, line: number, max: number): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw lineError(line, field, `expected an integer from 0 to ${max}, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return v;
}

/** Parses and checks one line (its text without the newline); `line` is its 1-based number. */
export function parseImportLine(text: string, line: number): ExportedSession {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw lineError(line, 'json', (e as Error).message);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw lineError(line, 'json', 'expected an object');
  const r = o as Record<string, unknown>;
  for (const key of Object.keys(r)) if (!(KEYS as readonly string[]).includes(key)) throw lineError(line, key, 'unknown field');
  if (r.v !== EXPORT_LINE_VERSION) throw lineError(line, 'v', `expected ${EXPORT_LINE_VERSION}, got ${JSON.stringify(r.v) ?? 'nothing'}`);
  if (!isValidSessionId(r.id)) throw lineError(line, 'id', `expected a non-empty string of at most ${SESSION_ID_BYTES_MAX} UTF-8 bytes without lone surrogates`);
  const createdAtMs = time(r, 'createdAtMs', line, Number.MAX_SAFE_INTEGER);
  const lastAccessAtMs = time(r, 'lastAccessAtMs', line, Number.MAX_SAFE_INTEGER);
  if (lastAccessAtMs < createdAtMs) throw lineError(line, 'lastAccessAtMs', `before createdAtMs (${lastAccessAtMs} < ${createdAtMs})`);
  const expiresAtMs = time(r, 'expiresAtMs', line, Number.MAX_SAFE_INTEGER);
  const maxInactiveMs = time(r, 'maxInactiveMs', line, U32_MAX);
  const owner = r.owner;
  if (owner !== undefined && (typeof owner !== 'string' || Buffer.byteLength(owner) > OWNER_BYTES_MAX)) {
    throw lineError(line, 'owner', `expected a string of at most ${OWNER_BYTES_MAX} UTF-8 bytes`);
  }
  const attrs = r.attributes;
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs)) throw lineError(line, 'attributes', 'expected an object of strings');
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value !== 'string') throw lineError(line, `attributes.${name}`, `expected a string (the serialized value), got ${typeof value}`);
    if (value.includes(ATTR_SEP) || value.includes(ATTR_NAME_SEP)) throw lineError(line, `attributes.${name}`, 'holds a raw \\u0000 or \\u0001 character');
  }
  return { id: r.id, createdAtMs, lastAccessAtMs, expiresAtMs, maxInactiveMs, owner, attributes: attrs as Record<string, string> };
}
