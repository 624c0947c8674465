import { hostname } from 'node:os';
import { SessiondError } from './errors.js';
import { OWNER_BYTES_MAX, RECORD_OVERHEAD_BYTES } from './format/constants.js';
import { systemClock, type Clock } from './clock.js';
import { nodeFileSystem } from './fs/node-file-system.js';
import type { FileSystem } from './fs/file-system.js';
import type { SessionState } from './session/session-state.js';
import { blockFileDatabase, type SessionDatabaseFactory } from './engine/session-database.js';
import { resolveEncryption, type Encryption, type EncryptionInput } from './session/attr-seal.js';

/**
 * Whose session it is (SPEC B5): an attribute name (its value, the JSON string's text or the
 * JSON text itself) or a function of the session's id and serialized attributes. undefined
 * or '' = none. Computed at every save and patch; docs/operations.md, "Sessions of a user".
 */
export type PrincipalOption = string | ((session: { readonly id: string; readonly attributes: ReadonlyMap<string, string> }) => string | undefined);

/**
 * Engine options: one table, validated once, unknown keys refused by name, then frozen.
 * Every limit has its unit in its name. README's options table is generated from OPTION_SPECS
 * (test/options.test.ts keeps the two in step).
 */

export type Durability = 'fsync' | 'interval' | 'none';

export interface EngineOptions {
  /** Directory of the store (created 0700 when missing). */
  readonly dir: string;
  readonly durability: Durability;
  readonly fsyncIntervalMs: number;
  readonly logSwapBytes: number;
  readonly logSwapMs: number;
  readonly groupCommitBytesMax: number;
  readonly writeQueueBytesMax: number;
  readonly flushIntervalMs: number;
  readonly flushBatchBytesMax: number;
  readonly flushSliceMsMax: number;
  readonly flushBacklogBytesMax: number;
  readonly flushBacklogBytesMin: number;
  readonly sessionBytesMax: number;
  readonly cacheBytesMax: number;
  readonly sessionTtlMs: number;
  readonly tombstoneMs: number;
  readonly tombstonesMax: number;
  readonly queueLengthMax: number;
  readonly queueWaitMsMax: number;
  readonly expiryIntervalMs: number;
  readonly expiryScanMax: number;
  readonly owner: string;
  readonly salvage: boolean;
  readonly fs: FileSystem;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly observer: EngineObserver;
  readonly database: SessionDatabaseFactory;
  /** undefined: no principal index entries (sessionsOf finds nothing). */
  readonly principal: PrincipalOption | undefined;
  /** undefined: attributes are written in clear (docs/format.md §3.7). */
  readonly encryption: Encryption | undefined;
}

/**
 * Sees every change the moment its log record is appended, in LSN order (before it is
 * durable). For tests and debugging tools: the crash tests rebuild the expected state from it.
 */
export interface EngineObserver {
  appended(lsn: number, id: string, state: SessionState | undefined): void;
}

const noObserver: EngineObserver = Object.freeze({ appended() {} });

export type EngineOptionsInput = Partial<Omit<EngineOptions, 'encryption'>> & { dir: string; encryption?: EncryptionInput | Encryption | undefined };

/** Structured logs; never given session IDs or attribute values. */
export interface Logger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: Logger = Object.freeze({ info() {}, warn() {}, error() {} });

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

type Kind = 'int' | 'bool' | 'string' | 'durability' | 'object' | 'principal' | 'encryption';
interface OptionSpec {
  kind: Kind;
  min?: number;
  max?: number;
  doc: string;
  defaultValue: () => unknown;
  /** shown in the README table instead of the value */
  defaultDoc?: string;
}

export const OPTION_SPECS: Readonly<Record<keyof EngineOptions, OptionSpec>> = {
  dir: { kind: 'string', doc: 'store directory (required)', defaultValue: () => undefined, defaultDoc: '(required)' },
  durability: { kind: 'durability', doc: "'fsync' (every write survives power loss), 'interval' (may lose the last fsyncIntervalMs on power loss), 'none' (survives a process crash, not an OS crash)", defaultValue: () => 'fsync' },
  fsyncIntervalMs: { kind: 'int', min: 1, max: 60_000, doc: "with durability 'interval': time between fdatasyncs of the log; with 'fsync': the longest an adapter's touch waits for one (docs/durability.md)", defaultValue: () => 100 },
  logSwapBytes: { kind: 'int', min: 4 * KiB, max: 1 * GiB, doc: 'swap to the other log when the active one exceeds this size', defaultValue: () => 64 * MiB },
  logSwapMs: { kind: 'int', min: 100, max: 24 * 3600_000, doc: 'swap to the other log when the active one is this old', defaultValue: () => 5 * 60_000 },
  groupCommitBytesMax: { kind: 'int', min: 4 * KiB, max: 256 * MiB, doc: 'most bytes in one group commit (one write + one fdatasync)', defaultValue: () => 4 * MiB },
  writeQueueBytesMax: { kind: 'int', min: 64 * KiB, max: 4 * GiB, doc: 'writes waiting for the log beyond this are refused with SESSIOND_OVERLOADED', defaultValue: () => 64 * MiB },
  flushIntervalMs: { kind: 'int', min: 10, max: 3600_000, doc: 'how often the flusher moves changed sessions from the cache to the database file, at the latest (sooner at flushBacklogBytesMin); until then a change is durable in the log only, and one session changed many times is written once (docs/durability.md, "When the database file is written")', defaultValue: () => 30_000 },
  flushBatchBytesMax: { kind: 'int', min: 4 * KiB, max: 1 * GiB, doc: 'most image bytes the flusher writes in one database batch', defaultValue: () => 16 * MiB },
  flushSliceMsMax: { kind: 'int', min: 1, max: 1000, doc: 'longest the flusher encodes images before it yields one event-loop turn (bounds the event-loop delay a big flush causes)', defaultValue: () => 2 },
  flushBacklogBytesMax: { kind: 'int', min: 64 * KiB, max: 16 * GiB, doc: 'log bytes not yet folded into the database file at which changes wait for the flusher (the flusher\'s slice grows towards it): bounds what a restart replays', defaultValue: () => 128 * MiB },
  flushBacklogBytesMin: { kind: 'int', min: 4 * KiB, max: 16 * GiB, doc: 'log bytes not yet folded into the database file at which the flusher runs without waiting for flushIntervalMs (at most flushBacklogBytesMax): bounds what a restart replays at normal load', defaultValue: () => 16 * MiB },
  sessionBytesMax: { kind: 'int', min: 1 * KiB, max: 64 * MiB, doc: 'largest encoded session; a larger save fails with SESSIOND_SESSION_TOO_LARGE (HTTP 413)', defaultValue: () => 1 * MiB },
  cacheBytesMax: { kind: 'int', min: 0, max: 2 ** 50, doc: 'bound on the loaded sessions (attribute text + ID + 160 B each); the least recently used ones that the database file holds are evicted and read back on access. 0: every session stays loaded', defaultValue: () => 0, defaultDoc: '0 (no bound)' },
  sessionTtlMs: { kind: 'int', min: 1, max: 10 * 365 * 24 * 3600_000, doc: 'expiry given to a session saved without one', defaultValue: () => 24 * 3600_000 },
  tombstoneMs: { kind: 'int', min: 0, max: 7 * 24 * 3600_000, doc: 'how long a destroyed session ID refuses late saves', defaultValue: () => 10 * 60_000 },
  tombstonesMax: { kind: 'int', min: 0, max: 100_000_000, doc: 'most destroyed IDs remembered; the oldest are forgotten first', defaultValue: () => 100_000 },
  queueLengthMax: { kind: 'int', min: 1, max: 1_000_000, doc: 'most requests waiting for one session; more fail with SESSIOND_QUEUE_FULL (HTTP 503)', defaultValue: () => 64 },
  queueWaitMsMax: { kind: 'int', min: 1, max: 3600_000, doc: 'longest a request waits for its session; then SESSIOND_QUEUE_TIMEOUT (HTTP 503)', defaultValue: () => 10_000 },
  expiryIntervalMs: { kind: 'int', min: 10, max: 3600_000, doc: 'how often expired sessions are reclaimed in the background', defaultValue: () => 1000 },
  expiryScanMax: { kind: 'int', min: 1, max: 100_000_000, doc: 'most sessions examined per reclaim tick (bounds its cost)', defaultValue: () => 10_000 },
  owner: { kind: 'string', doc: 'ID of this server, recorded as the owner of the sessions it writes', defaultValue: () => hostname().slice(0, 64), defaultDoc: 'os.hostname()' },
  salvage: { kind: 'bool', doc: 'open a store with a corrupt log or database by keeping what is readable (and reporting what is dropped)', defaultValue: () => false },
  fs: { kind: 'object', doc: 'file layer (tests pass a simulated one)', defaultValue: () => nodeFileSystem, defaultDoc: 'node:fs' },
  clock: { kind: 'object', doc: 'clock (tests pass a manual one)', defaultValue: () => systemClock, defaultDoc: 'Date.now' },
  logger: { kind: 'object', doc: 'structured logger ({ info, warn, error }); never given session IDs or values', defaultValue: () => silentLogger, defaultDoc: 'silent' },
  database: { kind: 'object', doc: 'where the flusher moves sessions: the block file in `dir`, or a shared backend implementing SessionDatabaseFactory', defaultValue: () => blockFileDatabase, defaultDoc: 'sessions.db in dir' },
  observer: { kind: 'object', doc: 'test hook: `appended(lsn, id, state)` for every change, in log order', defaultValue: () => noObserver, defaultDoc: 'none' },
  principal: { kind: 'principal', doc: "whose session it is: an attribute name or `(session) => string \\| undefined`; indexes sessions by principal for `sessionsOf` / `destroyAllOf` (at most 255 UTF-8 bytes)", defaultValue: () => undefined, defaultDoc: 'none' },
  encryption: { kind: 'encryption', doc: 'encryption at rest: `{ keys: { [id]: 32-byte key or its base64 }, current: id }`; attributes sealed with AES-256-GCM (docs/format.md §3.7)', defaultValue: () => undefined, defaultDoc: 'none (clear)' },
};

function invalid(option: string, reason: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_OPTION', `${option}: ${reason}`, { option });
}

function checkValue(name: string, spec: OptionSpec, value: unknown): void {
  switch (spec.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw invalid(name, `expected an integer, got ${typeof value}`);
      if (spec.min !== undefined && value < spec.min) throw invalid(name, `${value} is below the minimum ${spec.min}`);
      if (spec.max !== undefined && value > spec.max) throw invalid(name, `${value} is above the maximum ${spec.max}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(name, `expected a boolean, got ${typeof value}`);
      return;
    case 'string':
      if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'expected a non-empty string');
      return;
    case 'durability':
      if (value !== 'fsync' && value !== 'interval' && value !== 'none') throw invalid(name, `expected 'fsync', 'interval' or 'none', got ${JSON.stringify(value)}`);
      return;
    case 'object':
      if (typeof value !== 'object' || value === null) throw invalid(name, 'expected an object');
      return;
    case 'principal':
      if (value !== undefined && typeof value !== 'function' && (typeof value !== 'string' || value.length === 0)) {
        throw invalid(name, 'expected an attribute name or a function');
      }
      return;
    case 'encryption':
      return; // resolveEncryption checks it field by field
  }
}

/** Validates engine options (refusing unknown keys by name), fills defaults, freezes. */
export function resolveOptions(input: EngineOptionsInput, extraKeys: readonly string[] = []): EngineOptions {
  if (typeof input !== 'object' || input === null) throw invalid('options', 'expected an object');
  for (const key of Object.keys(input)) {
    // hasOwn, not `in`: 'constructor' or '__proto__' must be refused like any unknown key.
    if (key === 'global' && !extraKeys.includes(key)) {
      throw invalid(key, 'SessionEngine.open keeps sessions in this process; use GlobalSessionEngine.open({ dir, global }) or pass global: to a framework store (docs/failover.md)');
    }
    if (!Object.hasOwn(OPTION_SPECS, key) && !extraKeys.includes(key)) throw invalid(key, 'unknown option');
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTION_SPECS)) {
    const given = (input as Record<string, unknown>)[name];
    const value = given === undefined ? spec.defaultValue() : given;
    if (value === undefined && spec.kind !== 'principal' && spec.kind !== 'encryption') throw invalid(name, 'required');
    checkValue(name, spec, value);
    out[name] = value;
  }
  if (out.encryption !== undefined && !isResolvedEncryption(out.encryption)) out.encryption = resolveEncryption(out.encryption);
  if (Buffer.byteLength(out.owner as string) > OWNER_BYTES_MAX) throw invalid('owner', `longer than ${OWNER_BYTES_MAX} bytes`);
  // One record of the largest session must fit the write queue, or it could never be written.
  const largestRecordBytes = (out.sessionBytesMax as number) + RECORD_OVERHEAD_BYTES;
  if ((out.writeQueueBytesMax as number) < largestRecordBytes) {
    throw invalid('writeQueueBytesMax', `${String(out.writeQueueBytesMax)} is below one record of sessionBytesMax (${largestRecordBytes} bytes)`);
  }
  // The default soft bound follows a smaller hard one; a given one above it is a mistake.
  if ((out.flushBacklogBytesMin as number) > (out.flushBacklogBytesMax as number)) {
    if ((input as Record<string, unknown>).flushBacklogBytesMin === undefined) out.flushBacklogBytesMin = out.flushBacklogBytesMax;
    else throw invalid('flushBacklogBytesMin', `${String(out.flushBacklogBytesMin)} is above flushBacklogBytesMax (${String(out.flushBacklogBytesMax)})`);
  }
  return Object.freeze(out) as unknown as EngineOptions;
}

/** An Encryption resolveEncryption made (options resolved twice, e.g. by an adapter and the engine). */
function isResolvedEncryption(e: unknown): e is Encryption {
  return typeof e === 'object' && e !== null && (e as Encryption).keys instanceof Map && Object.isFrozen(e);
}
