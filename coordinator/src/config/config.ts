// The coordinator's configuration: defaults, a JSON file, then environment
// variables, validated once at start. Every error names the setting.

import { readFileSync } from 'node:fs';
import type { RetryDefaults, ValidationLimits } from '../domain/validate-start-saga.js';
import type { RetryPolicy } from '../domain/saga-types.js';
import type { ParticipantEndpoint } from '../registry/participant-registry.js';
import type { SynchronousMode } from '../store/sqlite/sqlite-store.js';

export interface CoordinatorConfig {
  /** host:port of the gRPC server; port 0 = ephemeral. */
  readonly listen: string;
  readonly database: { readonly path: string; readonly synchronous: SynchronousMode };
  /** Participant name -> endpoint. */
  readonly participants: Readonly<Record<string, ParticipantEndpoint>>;
  /** host:port patterns a definition may name directly ("*" wildcards). Empty = raw addresses refused. */
  readonly rawAddressAllowlist: readonly string[];
  readonly limits: ValidationLimits;
  readonly retry: RetryDefaults;
  readonly retention: {
    /** Finished (COMPLETED, COMPENSATED, RESOLVED) sagas are deleted this long after they finished. */
    readonly finishedSagaMs: number;
    readonly sweepIntervalMs: number;
    readonly batch: number;
  };
  readonly maxActiveSagas: number;
  /** SIGTERM: how long calls in flight may take to finish. */
  readonly drainTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** When set, operator RPCs need "authorization: Bearer <token>". */
  readonly operatorToken: string | undefined;
  /** TLS for the coordinator's own server; absent = plaintext. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string } | undefined;
  readonly events: { readonly subjectPrefix: string };
}

const DAY = 86_400_000;

export const DEFAULT_CONFIG: CoordinatorConfig = {
  listen: '127.0.0.1:50051',
  database: { path: './data/saga-coordinator.db', synchronous: 'FULL' },
  participants: {},
  rawAddressAllowlist: [],
  limits: {
    maxSteps: 100,
    maxPayloadBytes: 1024 * 1024,
    maxTotalPayloadBytes: 4 * 1024 * 1024,
    maxMetadataEntries: 64,
    maxMetadataValueBytes: 4096,
    maxWaitMs: 300_000,
    maxDeadlineMs: 30 * DAY,
    maxAttempts: 1000,
    maxAttemptTimeoutMs: 3_600_000,
    maxBackoffMs: DAY,
  },
  retry: {
    execute: { maxAttempts: 5, attemptTimeoutMs: 10_000, initialBackoffMs: 100, maxBackoffMs: 10_000, backoffMultiplier: 2 },
    compensate: { maxAttempts: 10, attemptTimeoutMs: 10_000, initialBackoffMs: 200, maxBackoffMs: 60_000, backoffMultiplier: 2 },
  },
  retention: { finishedSagaMs: 7 * DAY, sweepIntervalMs: 60_000, batch: 1000 },
  maxActiveSagas: 500_000,
  drainTimeoutMs: 10_000,
  logLevel: 'info',
  operatorToken: undefined,
  tls: undefined,
  events: { subjectPrefix: 'saga' },
};

export class ConfigError extends Error {
  constructor(setting: string, problem: string) {
    super(`config ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * Loads the configuration: defaults < JSON file (--config PATH or SAGA_CONFIG)
 * < environment (SAGA_LISTEN, SAGA_DB, SAGA_SYNCHRONOUS, SAGA_PARTICIPANTS
 * "name=host:port,…", SAGA_RAW_ADDRESS_ALLOWLIST, SAGA_LOG_LEVEL,
 * SAGA_OPERATOR_TOKEN, SAGA_MAX_ACTIVE_SAGAS, SAGA_DRAIN_TIMEOUT_MS,
 * SAGA_RETENTION_MS).
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  const flag = argv.indexOf('--config');
  const file = flag >= 0 ? argv[flag + 1] : env.SAGA_CONFIG;
  let merged: unknown = DEFAULT_CONFIG;
  if (file !== undefined && file !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(file, `cannot read JSON: ${(err as Error).message}`);
    }
    merged = deepMerge(DEFAULT_CONFIG, parsed, '');
  }
  const c = structuredClone(merged) as Record<string, unknown> & { database: Record<string, unknown>; retention: Record<string, unknown> };
  if (env.SAGA_LISTEN) c.listen = env.SAGA_LISTEN;
  if (env.SAGA_DB) c.database.path = env.SAGA_DB;
  if (env.SAGA_SYNCHRONOUS) c.database.synchronous = env.SAGA_SYNCHRONOUS.toUpperCase();
  if (env.SAGA_PARTICIPANTS) c.participants = { ...(c.participants as object), ...parseParticipants(env.SAGA_PARTICIPANTS) };
  if (env.SAGA_RAW_ADDRESS_ALLOWLIST) c.rawAddressAllowlist = env.SAGA_RAW_ADDRESS_ALLOWLIST.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.SAGA_LOG_LEVEL) c.logLevel = env.SAGA_LOG_LEVEL;
  if (env.SAGA_OPERATOR_TOKEN) c.operatorToken = env.SAGA_OPERATOR_TOKEN;
  if (env.SAGA_MAX_ACTIVE_SAGAS) c.maxActiveSagas = numberFromEnv('SAGA_MAX_ACTIVE_SAGAS', env.SAGA_MAX_ACTIVE_SAGAS);
  if (env.SAGA_DRAIN_TIMEOUT_MS) c.drainTimeoutMs = numberFromEnv('SAGA_DRAIN_TIMEOUT_MS', env.SAGA_DRAIN_TIMEOUT_MS);
  if (env.SAGA_RETENTION_MS) c.retention.finishedSagaMs = numberFromEnv('SAGA_RETENTION_MS', env.SAGA_RETENTION_MS);
  return validateConfig(c as unknown as CoordinatorConfig);
}

export function validateConfig(c: CoordinatorConfig): CoordinatorConfig {
  if (typeof c.listen !== 'string' || !/^.+:\d{1,5}$/.test(c.listen)) throw new ConfigError('listen', `"${String(c.listen)}" is not host:port`);
  if (typeof c.database.path !== 'string' || c.database.path === '') throw new ConfigError('database.path', 'is required');
  if (!['FULL', 'NORMAL', 'OFF'].includes(c.database.synchronous)) {
    throw new ConfigError('database.synchronous', `must be FULL, NORMAL or OFF, not "${String(c.database.synchronous)}"`);
  }
  for (const [name, ep] of Object.entries(c.participants)) {
    if (typeof ep?.address !== 'string') throw new ConfigError(`participants.${name}.address`, 'is required (host:port)');
  }
  if (!Array.isArray(c.rawAddressAllowlist)) throw new ConfigError('rawAddressAllowlist', 'must be a list of host:port patterns');
  for (const [k, v] of Object.entries(c.limits)) positiveInteger(`limits.${k}`, v);
  checkPolicy('retry.execute', c.retry.execute);
  checkPolicy('retry.compensate', c.retry.compensate);
  positiveInteger('retention.finishedSagaMs', c.retention.finishedSagaMs);
  positiveInteger('retention.sweepIntervalMs', c.retention.sweepIntervalMs);
  positiveInteger('retention.batch', c.retention.batch);
  positiveInteger('maxActiveSagas', c.maxActiveSagas);
  if (!Number.isInteger(c.drainTimeoutMs) || c.drainTimeoutMs < 0) throw new ConfigError('drainTimeoutMs', 'must be an integer >= 0');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) {
    throw new ConfigError('logLevel', `"${String(c.logLevel)}" is not a pino level`);
  }
  if (c.tls !== undefined && (typeof c.tls.certFile !== 'string' || typeof c.tls.keyFile !== 'string')) {
    throw new ConfigError('tls', 'needs certFile and keyFile');
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(c.events.subjectPrefix)) {
    throw new ConfigError('events.subjectPrefix', 'must be NATS subject tokens separated by "."');
  }
  return c;
}

function checkPolicy(setting: string, p: RetryPolicy): void {
  positiveInteger(`${setting}.maxAttempts`, p.maxAttempts);
  positiveInteger(`${setting}.attemptTimeoutMs`, p.attemptTimeoutMs);
  positiveInteger(`${setting}.initialBackoffMs`, p.initialBackoffMs);
  positiveInteger(`${setting}.maxBackoffMs`, p.maxBackoffMs);
  if (p.maxBackoffMs < p.initialBackoffMs) throw new ConfigError(`${setting}.maxBackoffMs`, 'must not be below initialBackoffMs');
  if (typeof p.backoffMultiplier !== 'number' || p.backoffMultiplier < 1) throw new ConfigError(`${setting}.backoffMultiplier`, 'must be >= 1');
}

function positiveInteger(setting: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new ConfigError(setting, `must be a positive integer, not ${JSON.stringify(v)}`);
}

function numberFromEnv(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(name, `"${value}" is not a number`);
  return n;
}

function parseParticipants(value: string): Record<string, ParticipantEndpoint> {
  const out: Record<string, ParticipantEndpoint> = {};
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError('SAGA_PARTICIPANTS', `"${part}" is not name=host:port`);
    out[part.slice(0, eq)] = { address: part.slice(eq + 1) };
  }
  return out;
}

function deepMerge(base: unknown, over: unknown, path: string): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) {
      const key = path === '' ? k : `${path}.${k}`;
      if (!(k in base) && path === '') throw new ConfigError(key, 'is not a known setting');
      // Maps keyed by user names (participants) replace rather than merge.
      out[k] = k === 'participants' && path === '' ? v : deepMerge(base[k], v, key);
    }
    return out;
  }
  return over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
