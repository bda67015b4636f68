import { TccBarrier } from './tcc-barrier.js';
import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString } from './option-validation.js';
import { SqliteBarrierStore } from './sqlite-barrier-store.js';
import type { SqliteTx } from './sqlite-tx.js';

/** Options of {@link SqliteBarrier}. */
export interface SqliteBarrierOptions {
  /** Path of the participant's SQLite database (created if missing, WAL mode). Required. */
  path: string;
  /** Logs hanging, null-compensation and duplicate calls, and cleanup runs. Default silent. */
  logger?: Logger;
  /** Rows older than this are deleted by the periodic cleanup, in ms. Default 7 days. */
  retentionMs?: number;
  /** Interval of the periodic cleanup in ms; 0 disables it. Default 1 hour. */
  cleanupIntervalMs?: number;
  /** How long SQLite waits for a lock held by another connection, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1_000;

/**
 * The barrier on the participant's own SQLite database. It owns the single
 * connection to that database: business changes run through
 * `barrier.execute(ctx, tx => …)` / `barrier.compensate(ctx, tx => …)` (in
 * the barrier's transaction) and any other work (schema, seed, queries)
 * through `barrier.transaction(tx => …)`, all serialized on that connection.
 * TCC branches use `barrier.try` / `confirm` / `cancel` the same way.
 */
export class SqliteBarrier extends TccBarrier<SqliteTx> {
  private readonly sqlite: SqliteBarrierStore;
  private readonly path: string;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private readonly cleanupIntervalMs: number;
  private readonly busyTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private cleanupRun: Promise<void> | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: SqliteBarrierOptions) {
    const store = new SqliteBarrierStore();
    super(store);
    const owner = 'SqliteBarrier';
    this.sqlite = store;
    this.path = checkNonEmptyString(owner, 'path', options.path);
    this.logger = options.logger ?? silentLogger();
    this.retentionMs = checkInteger(owner, 'retentionMs', options.retentionMs ?? 7 * DAY_MS, 1);
    this.cleanupIntervalMs = checkInteger(owner, 'cleanupIntervalMs', options.cleanupIntervalMs ?? 60 * 60 * 1_000, 0, 2_147_483_647);
    this.busyTimeoutMs = checkInteger(owner, 'busyTimeoutMs', options.busyTimeoutMs ?? 5_000, 0);
  }

  /** Opens the database, creates `saga_barrier` and starts the periodic cleanup. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`SqliteBarrier: start() called on a ${this.state} barrier`);
    this.state = 'started';
    await this.sqlite.open(this.path, this.busyTimeoutMs);
    if (this.cleanupIntervalMs > 0) {
      this.timer = setInterval(() => this.scheduleCleanup(), this.cleanupIntervalMs);
      this.timer.unref();
    }
  }

  /** Runs fn in its own transaction on the barrier's connection (e.g. schema, seed, reads). */
  transaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    return this.sqlite.transaction(fn);
  }

  /** Stops the cleanup, waits for queued transactions, closes the database. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.timer);
    await this.cleanupRun;
    await this.sqlite.close();
  }

  private scheduleCleanup(): void {
    if (this.cleanupRun !== undefined) return;
    this.cleanupRun = this.cleanupOlderThan(this.retentionMs).then(
      (deleted) => this.logger.debug({ deleted }, 'barrier cleanup done'),
      (err: unknown) => this.logger.warn({ err }, 'barrier cleanup failed'),
    ).finally(() => {
      this.cleanupRun = undefined;
    });
  }
}
