import { SessiondError } from '../errors.js';
import type { EngineOptionsInput } from '../options.js';

/**
 * Options of `serve()` (docs/server.md has the table): validated once, unknown keys refused
 * by name, frozen. Every limit has its unit in its name and a default.
 */
export interface ServerOptions {
  /** Store directory. */
  readonly dir: string;
  /** TCP port; 0 picks a free one. Ignored with `socket`. */
  readonly port: number;
  readonly host: string;
  /** Unix socket path: listen there instead of TCP. */
  readonly socket: string | undefined;
  /** AUTH is required when set. Without it only loopback or a Unix socket is served. */
  readonly password: string | undefined;
  readonly clientsMax: number;
  readonly bulkBytesMax: number;
  readonly argsMax: number;
  readonly inlineBytesMax: number;
  readonly pipelineBytesMax: number;
  readonly outputBufferBytesMax: number;
  readonly idleTimeoutMs: number;
  /** Admin HTTP port (/metrics, the admin page: docs/operations.md); none unless given. 0 picks a free one. */
  readonly adminPort: number | undefined;
  /** Address of the admin port: loopback unless given explicitly. */
  readonly adminHost: string;
  /** Rewrite sessions written with key mapping 1 (hashed IDs) under their keys at open (docs/server.md "Keys and values"). */
  readonly migrateKeys: boolean;
  /** Engine options other than dir (durability, sessionBytesMax, tombstoneMs, fs, clock ...). */
  readonly engine: Omit<EngineOptionsInput, 'dir'>;
}

export type ServerOptionsInput = Partial<ServerOptions> & { dir: string };

const KiB = 1024;
const MiB = 1024 * KiB;

interface Spec {
  kind: 'int' | 'optionalInt' | 'string' | 'optionalString' | 'object' | 'boolean';
  min?: number;
  max?: number;
  defaultValue: unknown;
}

export const SERVER_OPTION_SPECS: Readonly<Record<keyof ServerOptions, Spec>> = {
  dir: { kind: 'string', defaultValue: undefined },
  port: { kind: 'int', min: 0, max: 65535, defaultValue: 6390 },
  host: { kind: 'string', defaultValue: '127.0.0.1' },
  socket: { kind: 'optionalString', defaultValue: undefined },
  password: { kind: 'optionalString', defaultValue: undefined },
  clientsMax: { kind: 'int', min: 1, max: 1_000_000, defaultValue: 10_000 },
  bulkBytesMax: { kind: 'int', min: 1, max: 512 * MiB, defaultValue: 8 * MiB },
  argsMax: { kind: 'int', min: 1, max: 1024 * 1024, defaultValue: 1024 * 1024 },
  inlineBytesMax: { kind: 'int', min: 64, max: 1 * MiB, defaultValue: 64 * KiB },
  pipelineBytesMax: { kind: 'int', min: 1 * KiB, max: 1024 * MiB, defaultValue: 64 * MiB },
  outputBufferBytesMax: { kind: 'int', min: 1 * KiB, max: 1024 * MiB, defaultValue: 64 * MiB },
  idleTimeoutMs: { kind: 'int', min: 0, max: 30 * 24 * 3600_000, defaultValue: 0 },
  adminPort: { kind: 'optionalInt', min: 0, max: 65535, defaultValue: undefined },
  adminHost: { kind: 'string', defaultValue: '127.0.0.1' },
  migrateKeys: { kind: 'boolean', defaultValue: false },
  engine: { kind: 'object', defaultValue: {} },
};

function invalid(option: string, reason: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_OPTION', `${option}: ${reason}`, { option });
}

function checkInt(name: string, v: unknown, spec: Spec): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(name, `expected an integer, got ${typeof v}`);
  if (v < spec.min! || v > spec.max!) throw invalid(name, `${v} is outside ${spec.min}..${spec.max}`);
}

export function resolveServerOptions(input: ServerOptionsInput): ServerOptions {
  if (typeof input !== 'object' || input === null) throw invalid('options', 'expected an object');
  for (const key of Object.keys(input)) {
    if (!Object.hasOwn(SERVER_OPTION_SPECS, key)) throw invalid(key, 'unknown option');
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SERVER_OPTION_SPECS)) {
    const given = (input as Record<string, unknown>)[name];
    const v = given === undefined ? spec.defaultValue : given;
    switch (spec.kind) {
      case 'optionalInt':
        if (v !== undefined) checkInt(name, v, spec);
        break;
      case 'int':
        checkInt(name, v, spec);
        break;
      case 'string':
        if (typeof v !== 'string' || v === '') throw invalid(name, 'expected a non-empty string');
        break;
      case 'optionalString':
        if (v !== undefined && (typeof v !== 'string' || v === '')) throw invalid(name, 'expected a non-empty string');
        break;
      case 'boolean':
        if (typeof v !== 'boolean') throw invalid(name, `expected a boolean, got ${typeof v}`);
        break;
      case 'object':
        if (typeof v !== 'object' || v === null) throw invalid(name, 'expected an object');
        if (Object.hasOwn(v, 'dir')) throw invalid('engine.dir', 'give the directory as dir');
        break;
    }
    out[name] = v;
  }
  if ((out.pipelineBytesMax as number) < (out.bulkBytesMax as number)) {
    throw invalid('pipelineBytesMax', `below bulkBytesMax (${String(out.bulkBytesMax)}): one command could never be buffered`);
  }
  return Object.freeze(out) as unknown as ServerOptions;
}
