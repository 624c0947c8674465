import { SessiondError } from '../errors.js';
import { OWNER_BYTES_MAX } from '../format/constants.js';
import type { PatchInput, SaveInput, TouchInput } from './write-plan.js';
import type { RestoreInput } from './restore-plan.js';

/**
 * Checks of the public engine methods' arguments, so that a malformed call (a JavaScript
 * caller, a `null` where an object belongs) fails with a typed SESSIOND_INVALID_ARGUMENT
 * naming the bad field instead of a TypeError from deep inside. Values inside the fields
 * (times, sizes, attribute values) are checked where they are used (write-plan.ts).
 */

function invalid(argument: string, detail: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_ARGUMENT', `${argument} ${detail}`, { argument });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A session ID must be a string; whether it is well formed is the caller's next question. */
export function checkId(id: unknown, argument = 'id'): asserts id is string {
  if (typeof id !== 'string') throw invalid(argument, `must be a string, got ${describe(id)}`);
}

/** An input object: a plain object whose keys are all known (a typo must not be ignored). */
function checkInput(input: unknown, argument: string, keys: readonly string[]): asserts input is Record<string, unknown> {
  if (!isRecord(input)) throw invalid(argument, `must be an object, got ${describe(input)}`);
  for (const key of Object.keys(input)) {
    if (!keys.includes(key)) throw invalid(`${argument}.${key}`, `is not a known field (known: ${keys.join(', ')})`);
  }
}

/** name → serialized value, as a plain object or a Map. */
function checkAttributes(v: unknown, argument: string): void {
  if (!(v instanceof Map) && !isRecord(v)) throw invalid(argument, `must be an object or a Map of strings, got ${describe(v)}`);
}

function checkOptionalNumber(v: unknown, argument: string): void {
  if (v !== undefined && typeof v !== 'number') throw invalid(argument, `must be a number, got ${describe(v)}`);
}

const SAVE_KEYS = ['attributes', 'expiresAtMs', 'maxInactiveMs'] as const satisfies ReadonlyArray<keyof SaveInput>;
const PATCH_KEYS = ['set', 'remove', 'expiresAtMs', 'maxInactiveMs'] as const satisfies ReadonlyArray<keyof PatchInput>;
const TOUCH_KEYS = ['expiresAtMs'] as const satisfies ReadonlyArray<keyof TouchInput>;

export function checkSaveInput(input: unknown): asserts input is SaveInput {
  checkInput(input, 'input', SAVE_KEYS);
  checkAttributes(input.attributes, 'input.attributes');
  checkOptionalNumber(input.expiresAtMs, 'input.expiresAtMs');
  checkOptionalNumber(input.maxInactiveMs, 'input.maxInactiveMs');
}

export function checkPatchInput(input: unknown): asserts input is PatchInput {
  checkInput(input, 'input', PATCH_KEYS);
  if (input.set !== undefined) checkAttributes(input.set, 'input.set');
  const remove = input.remove;
  if (remove !== undefined && (!Array.isArray(remove) || remove.some((n) => typeof n !== 'string'))) {
    throw invalid('input.remove', `must be an array of attribute names (strings), got ${describe(remove)}`);
  }
  checkOptionalNumber(input.expiresAtMs, 'input.expiresAtMs');
  checkOptionalNumber(input.maxInactiveMs, 'input.maxInactiveMs');
}

const RESTORE_KEYS = ['attributes', 'createdAtMs', 'lastAccessAtMs', 'expiresAtMs', 'maxInactiveMs', 'owner'] as const satisfies ReadonlyArray<keyof RestoreInput>;
const U32_MAX = 0xffff_ffff;

/** Every time of a restore is required: an import keeps the exported ones. */
export function checkRestoreInput(input: unknown): asserts input is RestoreInput {
  checkInput(input, 'input', RESTORE_KEYS);
  checkAttributes(input.attributes, 'input.attributes');
  for (const [name, max] of [['createdAtMs', Number.MAX_SAFE_INTEGER], ['lastAccessAtMs', Number.MAX_SAFE_INTEGER], ['expiresAtMs', Number.MAX_SAFE_INTEGER], ['maxInactiveMs', U32_MAX]] as const) {
    const v = input[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw invalid(`input.${name}`, `must be an integer from 0 to ${max}, got ${describe(v)}`);
  }
  if (input.owner !== undefined && (typeof input.owner !== 'string' || Buffer.byteLength(input.owner) > OWNER_BYTES_MAX)) {
    throw invalid('input.owner', `must be a string of at most ${OWNER_BYTES_MAX} UTF-8 bytes`);
  }
}

export function checkTouchInput(input: unknown): asserts input is TouchInput {
  checkInput(input, 'input', TOUCH_KEYS);
  checkOptionalNumber(input.expiresAtMs, 'input.expiresAtMs');
}

export function checkFunction(fn: unknown, argument: string): asserts fn is (...args: never[]) => unknown {
  if (typeof fn !== 'function') throw invalid(argument, `must be a function, got ${describe(fn)}`);
}
