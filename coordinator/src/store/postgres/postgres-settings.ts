// The PostgreSQL part of the `database` configuration section: `database.url`
// (SAGA_DATABASE_URL) selects the PostgreSQL store; empty keeps the embedded
// SQLite file at database.path.

export type SynchronousCommit = 'on' | 'remote_apply' | 'remote_write' | 'local' | 'off';

export interface PostgresSettings {
  /** Connections in the pool: one writes the group commits, the others serve reads. Default 8. */
  readonly poolSize: number;
  /**
   * synchronous_commit of the store's sessions. Default "on": a commit
   * returns once its WAL is flushed, so a call's intent is durable before the
   * RPC goes out. "off" may lose the last commits if the server crashes.
   */
  readonly synchronousCommit: SynchronousCommit;
  /** Units of work per transaction at most. Default 256. */
  readonly maxBatch: number;
  /** Server-side timeout of one statement, ms. Default 30000. */
  readonly statementTimeoutMs: number;
  /**
   * How long this coordinator's instance lease lasts without a renewal, ms
   * (renewed every third of it). Once it expired, other coordinators claim
   * the instance's sagas. Default 5000.
   */
  readonly leaseMs: number;
  /** How often a coordinator looks for sagas of expired instances to claim, ms. Default 1000. */
  readonly claimIntervalMs: number;
  /** Sagas claimed per transaction. Default 500. */
  readonly claimBatch: number;
  /**
   * An instance's row is deleted once its lease expired this many leases ago
   * and it owns nothing any more (checked at each claim). Default 10.
   */
  readonly instanceRetentionLeases: number;
}

export const DEFAULT_POSTGRES_SETTINGS: PostgresSettings = {
  poolSize: 8,
  synchronousCommit: 'on',
  maxBatch: 256,
  statementTimeoutMs: 30_000,
  leaseMs: 5_000,
  claimIntervalMs: 1_000,
  claimBatch: 500,
  instanceRetentionLeases: 10,
};

const SYNCHRONOUS_COMMIT: readonly SynchronousCommit[] = ['on', 'remote_apply', 'remote_write', 'local', 'off'];

/** The first problem of `database.url` / `database.postgres`, naming the setting; undefined when valid. */
export function validateDatabaseUrl(url: unknown, settings: PostgresSettings): { setting: string; problem: string } | undefined {
  if (typeof url !== 'string') return { setting: 'database.url', problem: 'must be a string (empty = SQLite at database.path)' };
  if (url !== '' && !/^postgres(ql)?:\/\/.+/.test(url)) {
    return { setting: 'database.url', problem: 'must be a postgres:// or postgresql:// URL, or empty for SQLite' };
  }
  for (const k of ['poolSize', 'maxBatch', 'statementTimeoutMs', 'leaseMs', 'claimIntervalMs', 'claimBatch', 'instanceRetentionLeases'] as const) {
    const v = settings[k];
    if (!Number.isInteger(v) || v < 1) return { setting: `database.postgres.${k}`, problem: `must be a positive integer, not ${JSON.stringify(v)}` };
  }
  // Renewed every third of the lease: below a second, a pause of the event loop (GC, load) loses it.
  if (settings.leaseMs < 1_000) return { setting: 'database.postgres.leaseMs', problem: `must be at least 1000 ms, not ${settings.leaseMs}` };
  if (settings.poolSize < 2) return { setting: 'database.postgres.poolSize', problem: 'must be at least 2 (one writer, one reader)' };
  if (!SYNCHRONOUS_COMMIT.includes(settings.synchronousCommit)) {
    return { setting: 'database.postgres.synchronousCommit', problem: `must be one of ${SYNCHRONOUS_COMMIT.join(', ')}` };
  }
  return undefined;
}
