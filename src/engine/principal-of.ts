import { Buffer } from 'node:buffer';
import { ATTR_NAME_SEP, ATTR_SEP, PRINCIPAL_BYTES_MAX } from '../format/constants.js';
import { SessiondError } from '../errors.js';
import { attributesFromBlob, type AttributeBlob } from '../session/attributes.js';
import type { PrincipalOption } from '../options.js';

/** String.prototype.isWellFormed (Node 20; not yet in TypeScript's ES2023 lib). */
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/**
 * The principal of a session (SPEC B5) as the `principal` option computes it from the
 * attributes about to be written; '' = none. An attribute name: a JSON string value gives
 * its text, `null` or a missing attribute none, any other JSON text itself (`42`).
 */
export function principalOf(option: PrincipalOption | undefined, id: string, attrs: AttributeBlob): string {
  if (option === undefined) return '';
  const p = typeof option === 'string' ? fromAttribute(option, attrs) : option({ id, attributes: attributesFromBlob(attrs) });
  if (p === undefined || p === '') return '';
  if (typeof p !== 'string' || !isWellFormed(p) || Buffer.byteLength(p, 'utf8') > PRINCIPAL_BYTES_MAX) {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `the principal option gave ${typeof p === 'string' ? `a principal of ${Buffer.byteLength(p, 'utf8')} bytes or with a lone surrogate` : typeof p}: it must be a string of at most ${PRINCIPAL_BYTES_MAX} UTF-8 bytes`, { argument: 'principal' });
  }
  return p;
}

/** The value of attribute `name` in a blob without parsing the others. */
function fromAttribute(name: string, blob: AttributeBlob): string | undefined {
  const key = JSON.stringify(name) + ATTR_NAME_SEP;
  let start = key.length;
  if (!blob.startsWith(key)) {
    const i = blob.indexOf(ATTR_SEP + key);
    if (i < 0) return undefined;
    start = i + 1 + key.length;
  }
  const end = blob.indexOf(ATTR_SEP, start);
  const value = blob.slice(start, end < 0 ? undefined : end);
  if (value === 'null') return undefined;
  if (!value.startsWith('"')) return value;
  try {
    const s: unknown = JSON.parse(value);
    return typeof s === 'string' ? s : undefined;
  } catch {
    return value;
  }
}
