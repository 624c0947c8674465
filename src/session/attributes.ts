import { ATTR_NAME_SEP, ATTR_SEP } from '../format/constants.js';
import { SessiondError } from '../errors.js';

/**
 * A session's attributes live in memory and on disk as one "blob" string:
 * JSON-encoded names and serialized values, `name \x01 value \x00 name \x01 value`.
 * One string per session keeps the cache small (docs/format.md §3), and turning a blob
 * into the session's JSON object text is two replaceAll calls, not a parse per attribute.
 */
export type AttributeBlob = string;

/** name → serialized value (JSON text unless the application serializes otherwise). */
export type AttributeInput = Readonly<Record<string, string>> | ReadonlyMap<string, string>;

function entriesOf(input: AttributeInput): Iterable<[string, string]> {
  return input instanceof Map ? input.entries() : Object.entries(input);
}

/** Refuses a serialized value containing a blob separator (JSON never does). */
function checkValue(name: string, value: string): void {
  if (typeof value !== 'string') {
    throw new SessiondError('SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE', `attribute ${JSON.stringify(name)} is not a string`, { attribute: name });
  }
  if (value.indexOf(ATTR_SEP) !== -1 || value.indexOf(ATTR_NAME_SEP) !== -1) {
    throw new SessiondError(
      'SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE',
      `attribute ${JSON.stringify(name)} holds a raw \\u0000 or \\u0001 character`,
      { attribute: name },
    );
  }
}

/** Most attribute names whose JSON form is remembered; the memo starts over when full. */
const ENCODED_NAMES_MAX = 1024;
const encodedNames = new Map<string, string>();

/**
 * JSON.stringify(name), remembered: a store sees the same few names (cookie, user, cart...)
 * in every session, and a Map hit costs a fraction of the stringify.
 */
function encodeName(name: string): string {
  let enc = encodedNames.get(name);
  if (enc === undefined) {
    if (encodedNames.size >= ENCODED_NAMES_MAX) encodedNames.clear();
    enc = JSON.stringify(name);
    encodedNames.set(name, enc);
  }
  return enc;
}

export function blobFromAttributes(input: AttributeInput): AttributeBlob {
  const parts: string[] = [];
  for (const [name, value] of entriesOf(input)) {
    checkValue(name, value);
    parts.push(encodeName(name) + ATTR_NAME_SEP + value);
  }
  return parts.join(ATTR_SEP);
}

/** The blob of a session whose only attribute is `name` = `value`: blobFromAttributes({ [name]: value }) without the object. */
export function blobOfOne(name: string, value: string): AttributeBlob {
  if (typeof name !== 'string') throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `the attribute name must be a string, got ${typeof name}`, { argument: 'name' });
  checkValue(name, value);
  return encodeName(name) + ATTR_NAME_SEP + value;
}

/** Parses a blob into name → serialized value. */
export function attributesFromBlob(blob: AttributeBlob): Map<string, string> {
  const out = new Map<string, string>();
  if (blob === '') return out;
  for (const part of blob.split(ATTR_SEP)) {
    const sep = part.indexOf(ATTR_NAME_SEP);
    out.set(parseName(sep === -1 ? '' : part.slice(0, sep)), part.slice(sep + 1));
  }
  return out;
}

/**
 * The attributes as the text of one JSON object. Valid JSON only when every value is JSON
 * text (the default serializer); used by the adapters to parse a session in one call.
 */
export function blobToJsonObject(blob: AttributeBlob): string {
  if (blob === '') return '{}';
  return '{' + blob.replaceAll(ATTR_NAME_SEP, ':').replaceAll(ATTR_SEP, ',') + '}';
}

/** JSON-encoded names joined by \x00 (the PATCH record's removed list). */
export function encodeNames(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(ATTR_SEP);
}

export function decodeNames(text: string): string[] {
  return text === '' ? [] : text.split(ATTR_SEP).map(parseName);
}

/** A JSON-encoded attribute name; anything else is a corrupt payload, not a crash. */
function parseName(json: string): string {
  let name: unknown;
  try {
    name = JSON.parse(json);
  } catch {
    name = undefined;
  }
  if (typeof name !== 'string') throw new SessiondError('SESSIOND_RECORD_CORRUPT', 'attribute name is not a JSON string');
  return name;
}

export interface AttributeDiff {
  /** changed or added attributes, as a blob */
  set: AttributeBlob;
  /** removed names, JSON-encoded and joined by \x00 (the PATCH record's removed list) */
  removedNames: string;
  changed: boolean;
  /** the whole new blob, exactly as applyPatch(old, set, removed) builds it */
  merged: AttributeBlob;
}

/**
 * What turns `oldBlob` into `next` (partial saves): only the attributes that differ, and
 * the merged blob, in one pass. Names are compared in their JSON-encoded form, so nothing
 * is parsed. The merged order is applyPatch's (kept and updated attributes where they
 * were, new ones after them in input order): recovery replays PATCH records with
 * applyPatch, and the live state must be the same to the byte.
 */
export function diffAttributes(oldBlob: AttributeBlob, next: AttributeInput): AttributeDiff {
  return diffInPlace(oldBlob, next) ?? diffAnyOrder(oldBlob, next);
}

const NAME_SEP_CODE = ATTR_NAME_SEP.charCodeAt(0);

/**
 * diffAttributes(oldBlob, { [name]: value }), given `blob` = blobOfOne(name, value): when
 * `oldBlob` holds that one attribute only (a key's value saved again), two strings are
 * compared and nothing is built; any other old blob takes diffAttributes.
 */
export function diffOne(oldBlob: AttributeBlob, name: string, value: string, blob: AttributeBlob): AttributeDiff {
  // An encoded name is a whole JSON string: no other one starts with it, separator included.
  const onlyThatName = oldBlob.startsWith(blob.slice(0, blob.length - value.length)) && oldBlob.indexOf(ATTR_SEP) === -1;
  if (!onlyThatName) return diffAttributes(oldBlob, { [name]: value });
  const changed = oldBlob !== blob;
  return { set: changed ? blob : '', removedNames: '', changed, merged: changed ? blob : oldBlob };
}

/**
 * The common case without a Map or a split: `next` has exactly the old names in the old
 * order (a framework saving the whole session object), so the merged blob is the old one
 * with the changed values swapped in place. Undefined when the names differ in any way;
 * diffAnyOrder then handles it. Values hold no separator (checkValue) and names are JSON
 * text (no raw \x01), so the next separator always ends the part.
 */
function diffInPlace(oldBlob: AttributeBlob, next: AttributeInput): AttributeDiff | undefined {
  if (oldBlob === '') return undefined;
  const setParts: string[] = [];
  const mergedParts: string[] = [];
  let at = 0; // start of the current old part
  let copiedTo = 0; // oldBlob before this is in mergedParts
  let count = 0;
  for (const [name, value] of entriesOf(next)) {
    count++;
    checkValue(name, value);
    if (at > oldBlob.length) return undefined; // more names than the old blob has
    const encName = encodeName(name);
    const valueAt = at + encName.length + 1;
    if (oldBlob.charCodeAt(valueAt - 1) !== NAME_SEP_CODE || !oldBlob.startsWith(encName, at)) return undefined;
    let end = oldBlob.indexOf(ATTR_SEP, valueAt);
    if (end === -1) end = oldBlob.length;
    if (end - valueAt !== value.length || !oldBlob.startsWith(value, valueAt)) {
      setParts.push(encName + ATTR_NAME_SEP + value);
      mergedParts.push(oldBlob.slice(copiedTo, valueAt), value);
      copiedTo = end;
    }
    at = end + 1;
  }
  if (at <= oldBlob.length) return undefined; // old names left over: removals
  const changed = setParts.length > 0;
  const set = setParts.join(ATTR_SEP);
  // Every value changed (a session object saved whole): the merged blob is the set blob,
  // part for part, so one string serves both.
  if (setParts.length === count) return { set, removedNames: '', changed, merged: set };
  if (changed) mergedParts.push(oldBlob.slice(copiedTo));
  return { set, removedNames: '', changed, merged: changed ? mergedParts.join('') : oldBlob };
}

/** Any names in any order: a Map of the incoming attributes against the old blob's parts. */
function diffAnyOrder(oldBlob: AttributeBlob, next: AttributeInput): AttributeDiff {
  const incoming = new Map<string, string>();
  for (const [name, value] of entriesOf(next)) {
    checkValue(name, value);
    incoming.set(encodeName(name), value);
  }
  const merged: string[] = [];
  const setParts: string[] = [];
  const removed: string[] = [];
  if (oldBlob !== '') {
    for (const part of oldBlob.split(ATTR_SEP)) {
      const sep = part.indexOf(ATTR_NAME_SEP);
      const encName = part.slice(0, sep);
      const value = incoming.get(encName);
      if (value === undefined) {
        removed.push(encName);
        continue;
      }
      incoming.delete(encName);
      const entry = encName + ATTR_NAME_SEP + value;
      merged.push(entry);
      if (value !== part.slice(sep + 1)) setParts.push(entry);
    }
  }
  for (const [encName, value] of incoming) {
    const entry = encName + ATTR_NAME_SEP + value;
    merged.push(entry);
    setParts.push(entry);
  }
  return {
    set: setParts.join(ATTR_SEP),
    removedNames: removed.join(ATTR_SEP),
    changed: setParts.length > 0 || removed.length > 0,
    merged: merged.join(ATTR_SEP),
  };
}

/** Applies a PATCH (set blob + removed names) to a blob. */
export function applyPatch(oldBlob: AttributeBlob, setBlob: AttributeBlob, removed: readonly string[]): AttributeBlob {
  const attrs = attributesFromBlob(oldBlob);
  for (const name of removed) attrs.delete(name);
  for (const [name, value] of attributesFromBlob(setBlob)) attrs.set(name, value);
  return blobFromAttributes(attrs);
}

/** Serializes one application value to JSON text with a typed error for what JSON cannot hold. */
export function serializeValue(name: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new SessiondError('SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE', `attribute ${JSON.stringify(name)}: ${(e as Error).message}`, { attribute: name }, { cause: e });
  }
  if (text === undefined) {
    throw new SessiondError('SESSIOND_ATTRIBUTE_NOT_SERIALIZABLE', `attribute ${JSON.stringify(name)} has no JSON form (${typeof value})`, { attribute: name });
  }
  return text;
}

/** Serializes every own enumerable property of an object (skipping undefined values, as JSON does). */
export function serializeObject(obj: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(obj)) {
    const value = obj[name];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    // defineProperty: a plain assignment to '__proto__' would hit the setter and drop it.
    Object.defineProperty(out, name, { value: serializeValue(name, value), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
