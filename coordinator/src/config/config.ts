// The coordinator's configuration: defaults, a JSON file, then environment
// variables, validated once at start. Every error names the setting.

import { readFileSync } from 'node:fs';
import type { RetryDefaults, ValidationLimits } from '../domain/validate-start-saga.js';
import type { RetryPolicy } from '../domain/saga-types.js';
import type { ParticipantEndpoint } from '../registry/participant-registry.js';
import { DEFAULT_PARTICIPANT_TRANSPORT, participantTransportProblem, type ParticipantTransportSettings } from '../grpc/participant-transport-settings.js';
import type { SynchronousMode } from '../store/sqlite/sqlite-store.js';
import { DEFAULT_POSTGRES_SETTINGS, validateDatabaseUrl, type PostgresSettings } from '../store/postgres/postgres-settings.js';
import { validateMessageSettings, type MessageSettings } from '../messages/message-settings.js';
import { applyAuthEnv, DEFAULT_AUTH_SETTINGS, validateAuthSettings, type AuthSettings } from '../auth/auth-settings.js';
import { applyConsoleEnv, DEFAULT_CONSOLE_SETTINGS, validateConsoleSettings, type ConsoleSettings } from '../console/console-settings.js';
import { validateBoundSettings } from './bound-settings.js';

export interface CoordinatorConfig {
  /** host:port of the gRPC server; port 0 = ephemeral. */
  readonly listen: string;
  /** SQLite at `path` unless `url` (postgres://…) selects the PostgreSQL store (see postgres-settings.ts). */
  readonly database: {
    readonly path: string;
    readonly synchronous: SynchronousMode;
    /** SQLite: the writer connection on a thread of its own (default true); false keeps it on the event loop. */
    readonly writerThread: boolean;
    /**
     * Group commit: how long a small batch may wait for more units while they
     * arrive fast enough to expect some (fewer syncs and hand-offs per unit at
     * part load), ms. Never applies after a lull. 0 = off. Default 1.
     */
    readonly commitDelayMs: number;
    readonly url: string;
    readonly postgres: PostgresSettings;
  };
  /** Participant name -> endpoint. */
  readonly participants: Readonly<Record<string, ParticipantEndpoint>>;
  /** host:port patterns a definition may name directly ("*" wildcards). Empty = raw addresses refused. */
  readonly rawAddressAllowlist: readonly string[];
  /** How participants are called: keepalive, connect timeout, backoff, rotation, metadata headers. */
  readonly participantTransport: ParticipantTransportSettings;
  readonly limits: ValidationLimits;
  readonly retry: RetryDefaults;
  readonly retention: {
    /** Finished (COMPLETED, COMPENSATED, RESOLVED) sagas are deleted this long after they finished. */
    readonly finishedSagaMs: number;
    readonly sweepIntervalMs: number;
    readonly batch: number;
  };
  readonly maxActiveSagas: number;
  /**
   * A saga waiting at least this long for its next attempt (backoff, deadline)
   * is dropped from memory and reloaded from the log when it wakes. 0 = never.
   */
  readonly evictParkedAfterMs: number;
  /** Load shedding: new sagas are refused while the durable log's queue stands. */
  readonly admission: AdmissionConfig;
  /** SIGTERM: how long calls in flight may take to finish. */
  readonly drainTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** One more operator token (legacy single-token form of auth.tokens.operator). */
  readonly operatorToken: string | undefined;
  /** Tokens per role and client-certificate identities; a role without credentials is open. */
  readonly auth: AuthSettings;
  /** TLS for the coordinator's own server; absent = plaintext. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string } | undefined;
  readonly events: EventsConfig;
  readonly nats: NatsConfig;
  readonly metrics: MetricsConfig;
  readonly alerts: AlertsConfig;
  /** Transactional messages: default check policy, request limits, capacity, retention. */
  readonly messages: MessageSettings;
  /** The web console (UI and JSON/SSE API on its own port); off by default. */
  readonly console: ConsoleSettings;
}

export interface AdmissionConfig {
  /** false = never shed (only maxActiveSagas bounds the backlog). Default true. */
  readonly enabled: boolean;
  /** Queueing delay of the log's group commit tolerated as standing, ms, for batches taken full (writes left queued behind them). Default 100. */
  readonly targetDelayMs: number;
  /** The delay must stay above target this long before StartSaga of new sagas is refused, ms. Default 500. */
  readonly intervalMs: number;
  /** With the event loop saturated, the sagas in motion may take this long to drain before new ones are refused, ms. Default 1000. */
  readonly targetSagaLatencyMs: number;
  /** That rule never refuses with fewer sagas in motion than this. Default 256. */
  readonly minInMotion: number;
  /** That rule does not refuse for this long after the first StartSaga, ms (a cold process settles slowly). Default 10000; 0 = no warm-up. */
  readonly warmupMs: number;
}

export interface EventsConfig {
  /** First subject token(s) of every coordinator event: <prefix>.events.…, <prefix>.steps.…, <prefix>.alerts.… */
  readonly subjectPrefix: string;
  /** Also publish one StepEvent per step transition (dispatch and result). Default false. */
  readonly stepEvents: boolean;
  readonly outbox: {
    /** Sent rows are deleted this long after their publication was acknowledged. Default 1 h. */
    readonly keepSentMs: number;
    /**
     * Without NATS configured: at most this many unsent coordinator events
     * (subjects under the prefix) are kept; beyond it the oldest are dropped with
     * a warning and saga_outbox_dropped_total. With NATS configured nothing is
     * ever dropped. Default 100,000.
     */
    readonly maxUnsent: number;
    /** How often sent rows are pruned and the bound enforced. Default 30 s. */
    readonly pruneIntervalMs: number;
    /** Rows deleted per statement. Default 5000. */
    readonly pruneBatch: number;
    /**
     * Largest event (payload plus NATS headers) accepted while no NATS server
     * is connected; when one is, its advertised max_payload. Default 983,040 (960 KiB).
     */
    readonly maxPayloadBytes: number;
    /** Non-transient publish failures of one event before it becomes a dead letter. Default 5. */
    readonly deadLetterAfter: number;
  };
}

export interface NatsConfig {
  /** NATS server URLs. Empty (the default) = no NATS: events stay in the outbox. */
  readonly servers: readonly string[];
  /** Client connection name shown by the server. */
  readonly clientName: string;
  /** Deadline of one connection attempt. Default 5 s. */
  readonly connectTimeoutMs: number;
  /** Deadline of every publish (until its ack) and JetStream API request. Default 5 s. */
  readonly requestTimeoutMs: number;
  /** The client's wait between reconnection attempts once connected. Default 1 s. */
  readonly reconnectWaitMs: number;
  /** The stream the coordinator creates, or updates, at start. */
  readonly stream: {
    readonly name: string;
    /**
     * Extra subjects it captures besides the coordinator's own (<prefix>.events.>,
     * <prefix>.steps.>, <prefix>.alerts.>, always included), e.g. those of
     * transactional messages. Default none.
     */
    readonly subjects: readonly string[];
    readonly retention: 'limits' | 'interest' | 'workqueue';
    readonly storage: 'file' | 'memory';
    readonly replicas: number;
    /** 0 = unlimited. Default 7 days. */
    readonly maxAgeMs: number;
    /** 0 = unlimited (default). */
    readonly maxMsgs: number;
    /** 0 = unlimited (default). */
    readonly maxBytes: number;
    /** JetStream drops a re-published event id within this window. Default 10 min. */
    readonly duplicateWindowMs: number;
  };
  readonly relay: {
    /** Outbox rows read per query. Default 500. */
    readonly batchSize: number;
    /** Publishes awaiting their ack at most (events of one saga: one at a time). Default 128. */
    readonly maxInFlight: number;
    /** Fallback poll of the outbox when nothing wakes the relay. Default 1 s. */
    readonly pollIntervalMs: number;
    /** Backoff after a failed publish: capped exponential, full jitter. */
    readonly initialBackoffMs: number;
    readonly maxBackoffMs: number;
  };
}

export interface MetricsConfig {
  /** host:port of the Prometheus endpoint (GET /metrics). '' (default) = off; port 0 = ephemeral. */
  readonly listen: string;
  /** Also export the Node.js process metrics (CPU, memory, event loop). Default true. */
  readonly processMetrics: boolean;
  /** Distinct saga names and step names used as label values; later ones are counted as "other". Default 200. */
  readonly maxLabelValues: number;
}

export interface AlertsConfig {
  /** How often the rules are evaluated (also soon after every outcome). Default 15 s. */
  readonly evaluateIntervalMs: number;
  readonly compensationSuccessRate: {
    readonly enabled: boolean;
    /** Fires while successes / (successes + failures) over the window is below this (0..1). Default 0.9. */
    readonly threshold: number;
    /** Default 1 h. */
    readonly windowMs: number;
    /** No verdict below this many finished compensations in the window. Default 1. */
    readonly minCompensations: number;
  };
  readonly manualBacklog: {
    readonly enabled: boolean;
    /** Fires while more sagas than this wait in MANUAL. Default 10. */
    readonly threshold: number;
  };
  readonly slowCompensation: {
    readonly enabled: boolean;
    /** Fires while a compensation has been running longer than this. Default 5 min. */
    readonly thresholdMs: number;
  };
}

const DAY = 86_400_000;

export const DEFAULT_CONFIG: CoordinatorConfig = {
  listen: '127.0.0.1:50051',
  database: { path: './data/saga-coordinator.db', synchronous: 'FULL', writerThread: true, commitDelayMs: 1, url: '', postgres: DEFAULT_POSTGRES_SETTINGS },
  participants: {},
  rawAddressAllowlist: [],
  participantTransport: DEFAULT_PARTICIPANT_TRANSPORT,
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
  evictParkedAfterMs: 1_000,
  admission: { enabled: true, targetDelayMs: 100, intervalMs: 500, targetSagaLatencyMs: 1_000, minInMotion: 256, warmupMs: 10_000 },
  drainTimeoutMs: 10_000,
  logLevel: 'info',
  operatorToken: undefined,
  auth: DEFAULT_AUTH_SETTINGS,
  tls: undefined,
  events: {
    subjectPrefix: 'saga',
    stepEvents: false,
    outbox: { keepSentMs: 3_600_000, maxUnsent: 100_000, pruneIntervalMs: 30_000, pruneBatch: 5000, maxPayloadBytes: 960 * 1024, deadLetterAfter: 5 },
  },
  nats: {
    servers: [],
    clientName: 'saga-coordinator',
    connectTimeoutMs: 5000,
    requestTimeoutMs: 5000,
    reconnectWaitMs: 1000,
    stream: {
      name: 'SAGA_EVENTS',
      subjects: [],
      retention: 'limits',
      storage: 'file',
      replicas: 1,
      maxAgeMs: 7 * DAY,
      maxMsgs: 0,
      maxBytes: 0,
      duplicateWindowMs: 600_000,
    },
    relay: { batchSize: 500, maxInFlight: 128, pollIntervalMs: 1000, initialBackoffMs: 100, maxBackoffMs: 10_000 },
  },
  metrics: { listen: '', processMetrics: true, maxLabelValues: 200 },
  alerts: {
    evaluateIntervalMs: 15_000,
    compensationSuccessRate: { enabled: true, threshold: 0.9, windowMs: 3_600_000, minCompensations: 1 },
    manualBacklog: { enabled: true, threshold: 10 },
    slowCompensation: { enabled: true, thresholdMs: 300_000 },
  },
  messages: {
    subjects: [],
    defaultCheckPolicy: { checkAfterMs: 6_000, checkIntervalMs: 30_000, maxChecks: 15, checkTimeoutMs: 5_000 },
    limits: {
      minCheckIntervalMs: 100,
      maxCheckIntervalMs: DAY,
      maxChecks: 1000,
      maxCheckTimeoutMs: 60_000,
      maxPayloadBytes: 1024 * 1024,
      maxKeyBytes: 512,
      maxHeaders: 64,
      maxHeaderBytes: 4096,
      maxDeliveryDelayMs: 30 * DAY,
    },
    maxPrepared: 100_000,
    maxConcurrentChecks: 64,
    retentionMs: 7 * DAY,
  },
  console: DEFAULT_CONSOLE_SETTINGS,
};

export class ConfigError extends Error {
  constructor(setting: string, problem: string) {
    super(`config ${setting}: ${problem}`);
    this.name = 'ConfigError';
  }
}

/**
 * Loads the configuration: defaults < JSON file (--config PATH or SAGA_CONFIG)
 * < environment (SAGA_LISTEN, SAGA_DB, SAGA_SYNCHRONOUS, SAGA_COMMIT_DELAY_MS, SAGA_DATABASE_URL, SAGA_PARTICIPANTS
 * "name=host:port,…", SAGA_RAW_ADDRESS_ALLOWLIST, SAGA_LOG_LEVEL,
 * SAGA_OPERATOR_TOKEN, SAGA_MAX_ACTIVE_SAGAS, SAGA_ADMISSION_ENABLED true|false,
 * SAGA_ADMISSION_TARGET_DELAY_MS, SAGA_ADMISSION_INTERVAL_MS, SAGA_ADMISSION_WARMUP_MS, SAGA_DRAIN_TIMEOUT_MS,
 * SAGA_RETENTION_MS, SAGA_NATS_URL "nats://h:p,…", SAGA_NATS_STREAM,
 * SAGA_STEP_EVENTS true|false, SAGA_METRICS_LISTEN host:port, SAGA_MESSAGE_CHECK_AFTER_MS,
 * SAGA_MESSAGE_CHECK_INTERVAL_MS, SAGA_MESSAGE_MAX_CHECKS, SAGA_PARTICIPANT_TRANSPORT http2|frames|grpc-js,
 * SAGA_PARTICIPANT_TRANSPORT_THREAD main|worker,
 * SAGA_CONSOLE_LISTEN, SAGA_CONSOLE_ASSETS_DIR).
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
  const c = structuredClone(merged) as Record<string, unknown> & {
    database: Record<string, unknown>;
    retention: Record<string, unknown>;
    admission: Record<string, unknown>;
    events: Record<string, unknown>;
    nats: Record<string, unknown> & { stream: Record<string, unknown> };
    metrics: Record<string, unknown>;
    participantTransport: Record<string, unknown>;
    messages: { defaultCheckPolicy: Record<string, unknown> };
    console: Record<string, unknown>;
  };
  if (env.SAGA_LISTEN) c.listen = env.SAGA_LISTEN;
  if (env.SAGA_DB) c.database.path = env.SAGA_DB;
  if (env.SAGA_SYNCHRONOUS) c.database.synchronous = env.SAGA_SYNCHRONOUS.toUpperCase();
  if (env.SAGA_DB_WRITER_THREAD) c.database.writerThread = booleanFromEnv('SAGA_DB_WRITER_THREAD', env.SAGA_DB_WRITER_THREAD);
  if (env.SAGA_COMMIT_DELAY_MS) c.database.commitDelayMs = numberFromEnv('SAGA_COMMIT_DELAY_MS', env.SAGA_COMMIT_DELAY_MS);
  if (env.SAGA_DATABASE_URL !== undefined) c.database.url = env.SAGA_DATABASE_URL;
  if (env.SAGA_LEASE_MS) (c.database.postgres as Record<string, unknown>).leaseMs = numberFromEnv('SAGA_LEASE_MS', env.SAGA_LEASE_MS);
  if (env.SAGA_PARTICIPANTS) c.participants = { ...(c.participants as object), ...parseParticipants(env.SAGA_PARTICIPANTS) };
  if (env.SAGA_RAW_ADDRESS_ALLOWLIST) c.rawAddressAllowlist = env.SAGA_RAW_ADDRESS_ALLOWLIST.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.SAGA_PARTICIPANT_TRANSPORT) c.participantTransport.implementation = env.SAGA_PARTICIPANT_TRANSPORT;
  if (env.SAGA_PARTICIPANT_TRANSPORT_THREAD) c.participantTransport.thread = env.SAGA_PARTICIPANT_TRANSPORT_THREAD;
  if (env.SAGA_LOG_LEVEL) c.logLevel = env.SAGA_LOG_LEVEL;
  // Set but empty is a mistake validation reports, not "no token".
  if (env.SAGA_OPERATOR_TOKEN !== undefined) c.operatorToken = env.SAGA_OPERATOR_TOKEN;
  const authEnvProblem = applyAuthEnv(c.auth as Parameters<typeof applyAuthEnv>[0], env);
  if (authEnvProblem !== undefined) throw new ConfigError(authEnvProblem.setting, authEnvProblem.problem);
  if (env.SAGA_MAX_ACTIVE_SAGAS) c.maxActiveSagas = numberFromEnv('SAGA_MAX_ACTIVE_SAGAS', env.SAGA_MAX_ACTIVE_SAGAS);
  if (env.SAGA_EVICT_PARKED_AFTER_MS) c.evictParkedAfterMs = numberFromEnv('SAGA_EVICT_PARKED_AFTER_MS', env.SAGA_EVICT_PARKED_AFTER_MS);
  if (env.SAGA_ADMISSION_ENABLED) c.admission.enabled = booleanFromEnv('SAGA_ADMISSION_ENABLED', env.SAGA_ADMISSION_ENABLED);
  if (env.SAGA_ADMISSION_TARGET_DELAY_MS) c.admission.targetDelayMs = numberFromEnv('SAGA_ADMISSION_TARGET_DELAY_MS', env.SAGA_ADMISSION_TARGET_DELAY_MS);
  if (env.SAGA_ADMISSION_INTERVAL_MS) c.admission.intervalMs = numberFromEnv('SAGA_ADMISSION_INTERVAL_MS', env.SAGA_ADMISSION_INTERVAL_MS);
  if (env.SAGA_ADMISSION_TARGET_SAGA_LATENCY_MS) {
    c.admission.targetSagaLatencyMs = numberFromEnv('SAGA_ADMISSION_TARGET_SAGA_LATENCY_MS', env.SAGA_ADMISSION_TARGET_SAGA_LATENCY_MS);
  }
  if (env.SAGA_ADMISSION_MIN_IN_MOTION) c.admission.minInMotion = numberFromEnv('SAGA_ADMISSION_MIN_IN_MOTION', env.SAGA_ADMISSION_MIN_IN_MOTION);
  if (env.SAGA_ADMISSION_WARMUP_MS) c.admission.warmupMs = numberFromEnv('SAGA_ADMISSION_WARMUP_MS', env.SAGA_ADMISSION_WARMUP_MS);
  if (env.SAGA_DRAIN_TIMEOUT_MS) c.drainTimeoutMs = numberFromEnv('SAGA_DRAIN_TIMEOUT_MS', env.SAGA_DRAIN_TIMEOUT_MS);
  if (env.SAGA_RETENTION_MS) c.retention.finishedSagaMs = numberFromEnv('SAGA_RETENTION_MS', env.SAGA_RETENTION_MS);
  if (env.SAGA_NATS_URL !== undefined) c.nats.servers = env.SAGA_NATS_URL.split(',').map((s) => s.trim()).filter(Boolean);
  if (env.SAGA_NATS_STREAM) c.nats.stream.name = env.SAGA_NATS_STREAM;
  if (env.SAGA_STEP_EVENTS) c.events.stepEvents = booleanFromEnv('SAGA_STEP_EVENTS', env.SAGA_STEP_EVENTS);
  if (env.SAGA_METRICS_LISTEN !== undefined) c.metrics.listen = env.SAGA_METRICS_LISTEN;
  const checkPolicy = c.messages.defaultCheckPolicy;
  if (env.SAGA_MESSAGE_CHECK_AFTER_MS) checkPolicy.checkAfterMs = numberFromEnv('SAGA_MESSAGE_CHECK_AFTER_MS', env.SAGA_MESSAGE_CHECK_AFTER_MS);
  if (env.SAGA_MESSAGE_CHECK_INTERVAL_MS) checkPolicy.checkIntervalMs = numberFromEnv('SAGA_MESSAGE_CHECK_INTERVAL_MS', env.SAGA_MESSAGE_CHECK_INTERVAL_MS);
  if (env.SAGA_MESSAGE_MAX_CHECKS) checkPolicy.maxChecks = numberFromEnv('SAGA_MESSAGE_MAX_CHECKS', env.SAGA_MESSAGE_MAX_CHECKS);
  applyConsoleEnv(c.console, env);
  return validateConfig(c as unknown as CoordinatorConfig);
}

export function validateConfig(c: CoordinatorConfig): CoordinatorConfig {
  if (typeof c.listen !== 'string' || !/^.+:\d{1,5}$/.test(c.listen)) throw new ConfigError('listen', `"${String(c.listen)}" is not host:port`);
  if (typeof c.database.path !== 'string' || c.database.path === '') throw new ConfigError('database.path', 'is required');
  if (!['FULL', 'NORMAL', 'OFF'].includes(c.database.synchronous)) {
    throw new ConfigError('database.synchronous', `must be FULL, NORMAL or OFF, not "${String(c.database.synchronous)}"`);
  }
  if (typeof c.database.writerThread !== 'boolean') throw new ConfigError('database.writerThread', `must be true or false, not ${JSON.stringify(c.database.writerThread)}`);
  nonNegativeInteger('database.commitDelayMs', c.database.commitDelayMs, 'off');
  if (c.database.commitDelayMs > 50) throw new ConfigError('database.commitDelayMs', `must be at most 50 ms (it delays every write of a busy log), not ${c.database.commitDelayMs}`);
  const databaseProblem = validateDatabaseUrl(c.database.url, c.database.postgres);
  if (databaseProblem !== undefined) throw new ConfigError(databaseProblem.setting, databaseProblem.problem);
  for (const [name, ep] of Object.entries(c.participants)) {
    if (typeof ep?.address !== 'string') throw new ConfigError(`participants.${name}.address`, 'is required (host:port)');
  }
  if (!Array.isArray(c.rawAddressAllowlist)) throw new ConfigError('rawAddressAllowlist', 'must be a list of host:port patterns');
  const transportProblem = participantTransportProblem(c.participantTransport);
  if (transportProblem !== undefined) throw new ConfigError(`participantTransport.${transportProblem[0]}`, transportProblem[1]);
  for (const [k, v] of Object.entries(c.limits)) positiveInteger(`limits.${k}`, v);
  checkPolicy('retry.execute', c.retry.execute);
  checkPolicy('retry.compensate', c.retry.compensate);
  positiveInteger('retention.finishedSagaMs', c.retention.finishedSagaMs);
  positiveInteger('retention.sweepIntervalMs', c.retention.sweepIntervalMs);
  positiveInteger('retention.batch', c.retention.batch);
  positiveInteger('maxActiveSagas', c.maxActiveSagas);
  nonNegativeInteger('evictParkedAfterMs', c.evictParkedAfterMs, 'never evict');
  if (typeof c.admission.enabled !== 'boolean') throw new ConfigError('admission.enabled', 'must be true or false');
  positiveInteger('admission.targetDelayMs', c.admission.targetDelayMs);
  positiveInteger('admission.intervalMs', c.admission.intervalMs);
  positiveInteger('admission.targetSagaLatencyMs', c.admission.targetSagaLatencyMs);
  positiveInteger('admission.minInMotion', c.admission.minInMotion);
  nonNegativeInteger('admission.warmupMs', c.admission.warmupMs, 'no warm-up');
  nonNegativeInteger('drainTimeoutMs', c.drainTimeoutMs);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.logLevel)) {
    throw new ConfigError('logLevel', `"${String(c.logLevel)}" is not a pino level`);
  }
  if (c.tls !== undefined && (typeof c.tls.certFile !== 'string' || typeof c.tls.keyFile !== 'string')) {
    throw new ConfigError('tls', 'needs certFile and keyFile');
  }
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(c.events.subjectPrefix)) {
    throw new ConfigError('events.subjectPrefix', 'must be NATS subject tokens separated by "."');
  }
  validateEventsConfig(c);
  const authProblem = validateAuthSettings(c.auth, c.operatorToken, c.tls?.clientCaFile !== undefined);
  if (authProblem !== undefined) throw new ConfigError(authProblem.setting, authProblem.problem);
  const boundProblem = validateBoundSettings(c);
  if (boundProblem !== undefined) throw new ConfigError(boundProblem.setting, boundProblem.problem);
  const messageProblem = validateMessageSettings(c.messages, c.limits.maxTotalPayloadBytes);
  if (messageProblem !== undefined) throw new ConfigError(messageProblem.setting, messageProblem.problem);
  const consoleProblem = validateConsoleSettings(c.console);
  if (consoleProblem !== undefined) throw new ConfigError(consoleProblem.setting, consoleProblem.problem);
  return c;
}

function validateEventsConfig(c: CoordinatorConfig): void {
  if (typeof c.events.stepEvents !== 'boolean') throw new ConfigError('events.stepEvents', 'must be true or false');
  for (const k of ['keepSentMs', 'maxUnsent', 'pruneIntervalMs', 'pruneBatch'] as const) positiveInteger(`events.outbox.${k}`, c.events.outbox[k]);
  const n = c.nats;
  if (!Array.isArray(n.servers) || n.servers.some((s) => typeof s !== 'string' || !/^(nats|tls):\/\/\S+$|^[^\s:/]+:\d{1,5}$/.test(s))) {
    throw new ConfigError('nats.servers', 'must be a list of nats://host:port URLs (empty = no NATS)');
  }
  if (typeof n.clientName !== 'string' || n.clientName === '') throw new ConfigError('nats.clientName', 'is required');
  for (const k of ['connectTimeoutMs', 'requestTimeoutMs', 'reconnectWaitMs'] as const) positiveInteger(`nats.${k}`, n[k]);
  if (typeof n.stream.name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(n.stream.name)) {
    throw new ConfigError('nats.stream.name', 'must be 1-64 letters, digits, "_" or "-"');
  }
  if (!Array.isArray(n.stream.subjects) || n.stream.subjects.some((s) => typeof s !== 'string' || !/^[^\s.]+(\.[^\s.]+)*$/.test(s))) {
    throw new ConfigError('nats.stream.subjects', 'must be a list of NATS subjects (wildcards allowed)');
  }
  if (!['limits', 'interest', 'workqueue'].includes(n.stream.retention)) {
    throw new ConfigError('nats.stream.retention', `must be limits, interest or workqueue, not "${String(n.stream.retention)}"`);
  }
  if (!['file', 'memory'].includes(n.stream.storage)) throw new ConfigError('nats.stream.storage', 'must be file or memory');
  positiveInteger('nats.stream.replicas', n.stream.replicas);
  for (const k of ['maxAgeMs', 'maxMsgs', 'maxBytes'] as const) {
    const v = n.stream[k];
    nonNegativeInteger(`nats.stream.${k}`, v, 'unlimited');
  }
  positiveInteger('nats.stream.duplicateWindowMs', n.stream.duplicateWindowMs);
  if (n.stream.maxAgeMs > 0 && n.stream.duplicateWindowMs > n.stream.maxAgeMs) {
    throw new ConfigError('nats.stream.duplicateWindowMs', 'must not exceed maxAgeMs');
  }
  for (const k of ['batchSize', 'maxInFlight', 'pollIntervalMs', 'initialBackoffMs', 'maxBackoffMs'] as const) positiveInteger(`nats.relay.${k}`, n.relay[k]);
  if (n.relay.maxBackoffMs < n.relay.initialBackoffMs) throw new ConfigError('nats.relay.maxBackoffMs', 'must not be below initialBackoffMs');
  if (typeof c.metrics.listen !== 'string' || (c.metrics.listen !== '' && !/^.+:\d{1,5}$/.test(c.metrics.listen))) {
    throw new ConfigError('metrics.listen', `"${String(c.metrics.listen)}" is not host:port (or "" for off)`);
  }
  if (typeof c.metrics.processMetrics !== 'boolean') throw new ConfigError('metrics.processMetrics', 'must be true or false');
  const a = c.alerts;
  positiveInteger('alerts.evaluateIntervalMs', a.evaluateIntervalMs);
  for (const k of ['compensationSuccessRate', 'manualBacklog', 'slowCompensation'] as const) {
    if (typeof a[k].enabled !== 'boolean') throw new ConfigError(`alerts.${k}.enabled`, 'must be true or false');
  }
  const rate = a.compensationSuccessRate.threshold;
  if (typeof rate !== 'number' || !(rate > 0 && rate <= 1)) throw new ConfigError('alerts.compensationSuccessRate.threshold', 'must be in (0, 1]');
  positiveInteger('alerts.compensationSuccessRate.windowMs', a.compensationSuccessRate.windowMs);
  positiveInteger('alerts.compensationSuccessRate.minCompensations', a.compensationSuccessRate.minCompensations);
  nonNegativeInteger('alerts.manualBacklog.threshold', a.manualBacklog.threshold);
  positiveInteger('alerts.slowCompensation.thresholdMs', a.slowCompensation.thresholdMs);
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

/** `zeroMeans`: what 0 stands for, named in the message. */
function nonNegativeInteger(setting: string, v: unknown, zeroMeans?: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ConfigError(setting, `must be an integer >= 0${zeroMeans === undefined ? '' : ` (0 = ${zeroMeans})`}`);
}

function numberFromEnv(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ConfigError(name, `"${value}" is not a number`);
  return n;
}

function booleanFromEnv(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(name, `"${value}" is not true or false`);
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
