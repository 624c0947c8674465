import { RecordType } from '../format/constants.js';
import { SessiondError } from '../errors.js';
import type { EngineOptions } from '../options.js';
import {
  applyPatch,
  blobFromAttributes,
  blobOfOne,
  diffAttributes,
  diffOne,
  encodeNames,
  type AttributeBlob,
  type AttributeDiff,
  type AttributeInput,
} from '../session/attributes.js';
import { encodePatchInto, encodePutInto, encodeTombstone, encodeTouch, patchPayloadBytes, putPayloadBytes, sealedPutBytes } from '../session/session-encoder.js';
import type { Encryption } from '../session/attr-seal.js';
import type { RecordData } from '../log/record-codec.js';
import { makeState, type SessionState } from '../session/session-state.js';
import { principalOf } from './principal-of.js';

/**
 * Turns a request to change a session into the smallest log record that does it
 * (partial saves, SPEC E10): a PUT for a new session, a PATCH with only the changed
 * attributes, a TOUCH when only the expiry moved, or nothing at all.
 */

export interface SaveInput {
  /** name → serialized value (JSON text by default): the session's whole attribute set. */
  attributes: AttributeInput;
  /** Absolute expiry in ms since the epoch; 0 = none. New sessions default to now + sessionTtlMs. */
  expiresAtMs?: number;
  /** Sliding expiry: expire this long after the last access; 0 = none. */
  maxInactiveMs?: number;
}

export interface PatchInput {
  set?: AttributeInput;
  remove?: readonly string[];
  expiresAtMs?: number;
  maxInactiveMs?: number;
}

export interface TouchInput {
  /** New absolute expiry; omitted = keep it, only record the access (extends sliding expiry). */
  expiresAtMs?: number;
}

export interface WritePlan {
  type: RecordType;
  /** A PUT or PATCH is an encoder: the log writer encodes it into its group buffer, once. */
  data: RecordData;
  /**
   * The state after the change, a fresh object no reader has seen: the engine fills in its
   * lsn when the record is appended (session-engine.ts), then it is never changed again.
   */
  state: SessionState;
}

type Limits = Pick<EngineOptions, 'sessionBytesMax' | 'sessionTtlMs' | 'owner'> & Partial<Pick<EngineOptions, 'principal' | 'encryption'>>;

const U32_MAX = 0xffff_ffff;

export function checkTime(name: string, v: number | undefined, max: number): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0 || v > max)) {
    throw new SessiondError('SESSIOND_INVALID_ARGUMENT', `${name} must be an integer from 0 to ${max}, got ${String(v)}`, { argument: name });
  }
}

/** Bytes of the PUT payload of `s` (docs/format.md §3.1), without encoding it. */
export function putBytes(s: SessionState): number {
  return putPayloadBytes(s);
}

/** Returns the PUT payload's bytes. */
function checkSize(s: SessionState, limits: Limits): number {
  const bytes = putBytes(s);
  if (bytes > limits.sessionBytesMax) {
    throw new SessiondError('SESSIOND_SESSION_TOO_LARGE', `${bytes} bytes, limit ${limits.sessionBytesMax}`, { bytes, sessionBytesMax: limits.sessionBytesMax });
  }
  return bytes;
}

/**
 * The data of a PUT of `state` (the log writer's RecordEncoder): encoded, and sealed when
 * `enc` is given, into the group buffer when appended. One object a plan, no closure.
 */
class PutData {
  constructor(
    readonly byteLength: number,
    private readonly state: SessionState,
    private readonly enc: Encryption | undefined,
  ) {}

  writeInto(target: Uint8Array, at: number): number {
    return encodePutInto(target, at, this.state, this.enc);
  }
}

/**
 * The data of a PATCH (docs/format.md §3.2): the payload's fields and its encoder in one
 * object. `removed`: JSON names joined by \x00; `set`: the changed attributes' blob.
 */
class PatchData {
  readonly id: string;
  readonly version: number;
  readonly lastAccessAtMs: number;
  readonly expiresAtMs: number;
  readonly maxInactiveMs: number;
  readonly principal: string;
  readonly byteLength: number;

  constructor(
    state: SessionState,
    readonly set: string,
    readonly removed: string,
    private readonly enc: Encryption | undefined,
  ) {
    this.id = state.id;
    this.version = state.version;
    this.lastAccessAtMs = state.lastAccessAtMs;
    this.expiresAtMs = state.expiresAtMs;
    this.maxInactiveMs = state.maxInactiveMs;
    this.principal = state.principal;
    this.byteLength = patchPayloadBytes(this, enc);
  }

  writeInto(target: Uint8Array, at: number): number {
    return encodePatchInto(target, at, this, this.enc);
  }
}

/**
 * A PUT of `state`, encoded (and sealed) when the log writer appends it. `clearBytes`: its
 * clear PUT payload's bytes, when the caller has them (checkSize).
 */
export function putPlan(state: SessionState, limits: Pick<Limits, 'encryption'>, clearBytes = putBytes(state)): WritePlan {
  const enc = limits.encryption;
  return { type: RecordType.PUT, data: new PutData(sealedPutBytes(clearBytes, enc), state, enc), state };
}

/**
 * A PATCH unless the whole session is smaller, then a PUT; only the chosen one is encoded
 * (sealed, with its own fresh nonce, when encryption is on), by the log writer's append. `removedNames`: JSON names
 * joined by \x00; `putPayload`: bytes of the state's clear PUT payload (checkSize).
 */
function patchPlan(state: SessionState, set: string, removedNames: string, putPayload: number, limits: Limits): WritePlan {
  const data = new PatchData(state, set, removedNames, limits.encryption);
  if (data.byteLength >= putPayload) return putPlan(state, limits, putPayload);
  return { type: RecordType.PATCH, data, state };
}

export function planSave(base: SessionState | undefined, id: string, input: SaveInput, now: number, limits: Limits): WritePlan | SessionState {
  checkTime('expiresAtMs', input.expiresAtMs, Number.MAX_SAFE_INTEGER);
  checkTime('maxInactiveMs', input.maxInactiveMs, U32_MAX);
  if (base === undefined) return newSessionPlan(id, blobFromAttributes(input.attributes), input.expiresAtMs, input.maxInactiveMs, now, limits);
  return changePlan(base, id, diffAttributes(base.attrs, input.attributes), input.expiresAtMs, input.maxInactiveMs, now, limits);
}

/**
 * planSave(base, id, { attributes: { [name]: value }, expiresAtMs }, now, limits): the same
 * plan (record and state), for a save whose one attribute replaces the session's (sessiond
 * serve's SET of an opaque value), without an attribute object to build, walk and diff.
 */
export function planSaveOne(base: SessionState | undefined, id: string, name: string, value: string, expiresAtMs: number | undefined, now: number, limits: Limits): WritePlan | SessionState {
  checkTime('expiresAtMs', expiresAtMs, Number.MAX_SAFE_INTEGER);
  const blob = blobOfOne(name, value);
  if (base === undefined) return newSessionPlan(id, blob, expiresAtMs, undefined, now, limits);
  return changePlan(base, id, diffOne(base.attrs, name, value, blob), expiresAtMs, undefined, now, limits);
}

/** planSave of a new session: a PUT of `attrs`. */
function newSessionPlan(id: string, attrs: AttributeBlob, expiresAtMs: number | undefined, maxInactiveMs: number | undefined, now: number, limits: Limits): WritePlan {
  const state = makeState(id, 1, 0, now, now, expiresAtMs ?? now + limits.sessionTtlMs, maxInactiveMs ?? 0, limits.owner, attrs, principalOf(limits.principal, id, attrs));
  return putPlan(state, limits, checkSize(state, limits));
}

/** planSave of an existing session, given what its attributes' diff found. */
function changePlan(base: SessionState, id: string, diff: AttributeDiff, expiresAtInput: number | undefined, maxInactiveInput: number | undefined, now: number, limits: Limits): WritePlan | SessionState {
  const expiresAtMs = expiresAtInput ?? base.expiresAtMs;
  const maxInactiveMs = maxInactiveInput ?? base.maxInactiveMs;
  const sameExpiry = expiresAtMs === base.expiresAtMs && maxInactiveMs === base.maxInactiveMs;
  // Nothing changed and no sliding expiry to extend: nothing to write.
  if (!diff.changed && sameExpiry && maxInactiveMs === 0) return base;
  // diff.merged is built in applyPatch's order, the function recovery replays the PATCH
  // with, so the live state and the recovered one are identical to the byte.
  const attrs = diff.changed ? diff.merged : base.attrs;
  const principal = diff.changed ? principalOf(limits.principal, id, attrs) : base.principal;
  const state = makeState(id, base.version + 1, 0, base.createdAtMs, now, expiresAtMs, maxInactiveMs, base.owner, attrs, principal);
  if (!diff.changed && maxInactiveMs === base.maxInactiveMs) return touchPlan(state);
  return patchPlan(state, diff.set, diff.removedNames, checkSize(state, limits), limits);
}

export function planPatch(base: SessionState | undefined, id: string, input: PatchInput, now: number, limits: Limits): WritePlan {
  if (base === undefined) throw new SessiondError('SESSIOND_SESSION_NOT_FOUND');
  checkTime('expiresAtMs', input.expiresAtMs, Number.MAX_SAFE_INTEGER);
  checkTime('maxInactiveMs', input.maxInactiveMs, U32_MAX);
  const set = blobFromAttributes(input.set ?? {});
  const removed = input.remove ?? [];
  const attrs = applyPatch(base.attrs, set, removed);
  const principal = principalOf(limits.principal, id, attrs);
  const state = makeState(id, base.version + 1, 0, base.createdAtMs, now, input.expiresAtMs ?? base.expiresAtMs, input.maxInactiveMs ?? base.maxInactiveMs, base.owner, attrs, principal);
  return patchPlan(state, set, encodeNames(removed), checkSize(state, limits), limits);
}

function touchPlan(state: SessionState): WritePlan {
  const data = encodeTouch({ id: state.id, version: state.version, lastAccessAtMs: state.lastAccessAtMs, expiresAtMs: state.expiresAtMs });
  return { type: RecordType.TOUCH, data, state };
}

export function planTouch(base: SessionState, input: TouchInput, now: number, _limits: Limits): WritePlan {
  checkTime('expiresAtMs', input.expiresAtMs, Number.MAX_SAFE_INTEGER);
  const state = makeState(base.id, base.version + 1, 0, base.createdAtMs, now, input.expiresAtMs ?? base.expiresAtMs, base.maxInactiveMs, base.owner, base.attrs, base.principal);
  return touchPlan(state);
}

/**
 * A destroy is always logged, even when the session is absent or has just expired: the
 * record deletes any image the database still holds (a wall clock stepped back must not
 * revive it) and carries the tombstone across a restart. `version` is one above the last.
 */
export function planDestroy(id: string, last: SessionState | undefined, now: number): { type: RecordType; data: Uint8Array } {
  return { type: RecordType.TOMBSTONE, data: encodeTombstone({ id, version: (last?.version ?? 0) + 1, destroyedAtMs: now }) };
}
