import { SessiondError } from '../errors.js';
import type { Logger } from '../options.js';
import type { SessionEngine } from '../engine/session-engine.js';

/** Anything that renders Prometheus text: a prom-client Registry of the caller's, for one. */
export interface MetricsSource {
  metrics(): Promise<string> | string;
}

export interface AdminServerOptionsInput {
  engine: SessionEngine;
  host?: string;
  port?: number;
  extraMetrics?: MetricsSource;
  sampleIntervalMs?: number;
  seriesPointsMax?: number;
  logger?: Logger;
}

export interface AdminServerOptions {
  readonly engine: SessionEngine;
  readonly host: string;
  readonly port: number;
  readonly extraMetrics: MetricsSource | undefined;
  readonly sampleIntervalMs: number;
  readonly seriesPointsMax: number;
  readonly logger: Logger;
}

/** The port `sessiond serve --admin-port` uses unless told otherwise. */
export const ADMIN_PORT_DEFAULT = 9464;

/** Every admin option, with its documentation (docs/operations.md lists the same; a test checks). */
export const ADMIN_OPTION_DOCS: Readonly<Record<keyof AdminServerOptionsInput, string>> = {
  engine: 'the open SessionEngine to report on (required)',
  host: "address to bind; loopback ('127.0.0.1') unless given explicitly",
  port: `TCP port; 0 picks a free one (default ${ADMIN_PORT_DEFAULT})`,
  extraMetrics: 'another source of Prometheus text (e.g. a prom-client Registry) appended to /metrics',
  sampleIntervalMs: 'time between two points of the charts (default 5000)',
  seriesPointsMax: 'points kept per chart series; older ones are overwritten (default 720: one hour at 5 s)',
  logger: "structured logger; defaults to the engine's. Never given session IDs",
};

function invalid(option: string, reason: string): SessiondError {
  return new SessiondError('SESSIOND_INVALID_OPTION', `${option}: ${reason}`, { option });
}

function int(name: string, v: unknown, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(name, `expected an integer, got ${typeof v}`);
  if (v < min || v > max) throw invalid(name, `${v} is outside ${min}..${max}`);
  return v;
}

/** Validates once (unknown keys refused by name), fills defaults, freezes. */
export function resolveAdminOptions(input: AdminServerOptionsInput): AdminServerOptions {
  if (typeof input !== 'object' || input === null) throw invalid('options', 'expected an object');
  for (const key of Object.keys(input)) if (!Object.hasOwn(ADMIN_OPTION_DOCS, key)) throw invalid(key, 'unknown option');
  const { engine, host, extraMetrics, logger } = input;
  if (typeof engine !== 'object' || engine === null || typeof engine.stats !== 'function') throw invalid('engine', 'expected an open SessionEngine');
  if (host !== undefined && (typeof host !== 'string' || host.length === 0)) throw invalid('host', 'expected a non-empty string');
  if (extraMetrics !== undefined && typeof extraMetrics?.metrics !== 'function') throw invalid('extraMetrics', 'expected an object with metrics()');
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) throw invalid('logger', 'expected an object');
  return Object.freeze({
    engine,
    host: host ?? '127.0.0.1',
    port: int('port', input.port, 0, 65_535, ADMIN_PORT_DEFAULT),
    extraMetrics,
    sampleIntervalMs: int('sampleIntervalMs', input.sampleIntervalMs, 10, 3_600_000, 5000),
    seriesPointsMax: int('seriesPointsMax', input.seriesPointsMax, 2, 100_000, 720),
    logger: logger ?? engine.options.logger,
  });
}
