import { AsyncLocalStorage } from 'node:async_hooks';
import sqlite3 from 'sqlite3';
import { SerialQueue } from './serial-queue.js';
import type { SqliteParams, SqliteRunResult, SqliteTx } from './sqlite-tx.js';

/**
 * A promisified sqlite3 connection whose transactions run one at a time
 * (a single connection cannot interleave them). Internal to the SDK.
 */
export class SqliteConnection {
  private readonly queue = new SerialQueue();
  // Marks code running inside one of this connection's transactions: opening
  // another one there would wait for itself forever.
  private readonly inTransaction = new AsyncLocalStorage<true>();
  private closed = false;

  private constructor(private readonly db: sqlite3.Database) {}

  /** Opens (creating if missing) the database in WAL mode. */
  static async open(path: string, busyTimeoutMs: number): Promise<SqliteConnection> {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened: sqlite3.Database = new sqlite3.Database(
        path,
        sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE | sqlite3.OPEN_FULLMUTEX,
        (err) => (err ? reject(err) : resolve(opened)),
      );
    });
    const connection = new SqliteConnection(db);
    try {
      db.configure('busyTimeout', busyTimeoutMs);
      await connection.statement('exec', 'PRAGMA journal_mode = WAL');
      await connection.statement('exec', 'PRAGMA foreign_keys = ON');
    } catch (err) {
      await connection.close();
      throw err;
    }
    return connection;
  }

  /**
   * Runs fn inside `BEGIN IMMEDIATE` … `COMMIT`, after every transaction
   * queued before it. Rolls back and rethrows when fn throws.
   */
  transaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the SQLite database is closed'));
    if (this.inTransaction.getStore() === true) {
      return Promise.reject(new Error('nested SQLite transaction: inside a transaction callback, use the tx it was given'));
    }
    return this.queue.run(() => this.inTransaction.run(true, () => this.runTransaction(fn)));
  }

  // Transactions queued before close() still run: close() waits for them.
  private async runTransaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    await this.statement('exec', 'BEGIN IMMEDIATE');
    let open = true;
    const guard = (): void => {
      if (!open) throw new Error('this SQLite transaction is over; use the tx only inside its callback');
    };
    const tx: SqliteTx = {
      run: async (sql, params) => {
        guard();
        return this.statement('run', sql, params);
      },
      get: async <R>(sql: string, params?: SqliteParams) => {
        guard();
        return (await this.statement('get', sql, params)) as R | undefined;
      },
      all: async <R>(sql: string, params?: SqliteParams) => {
        guard();
        return (await this.statement('all', sql, params)) as R[];
      },
      exec: async (sql) => {
        guard();
        return this.statement('exec', sql);
      },
    };
    try {
      const result = await fn(tx);
      open = false;
      await this.statement('exec', 'COMMIT');
      return result;
    } catch (err) {
      open = false;
      // SQLite may already have rolled back on its own (e.g. SQLITE_FULL); the original error matters.
      await this.statement('exec', 'ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Refuses new transactions, waits for queued ones, then closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.idle();
    await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }

  private statement(kind: 'run', sql: string, params?: SqliteParams): Promise<SqliteRunResult>;
  private statement(kind: 'get', sql: string, params?: SqliteParams): Promise<unknown>;
  private statement(kind: 'all', sql: string, params?: SqliteParams): Promise<unknown[]>;
  private statement(kind: 'exec', sql: string): Promise<void>;
  private statement(kind: 'run' | 'get' | 'all' | 'exec', sql: string, params: SqliteParams = []): Promise<unknown> {
    return new Promise((resolve, reject) => {
      switch (kind) {
        case 'exec':
          this.db.exec(sql, (err) => (err ? reject(err) : resolve(undefined)));
          return;
        case 'run':
          this.db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
            if (err) reject(err);
            else resolve({ changes: this.changes, lastID: this.lastID });
          });
          return;
        case 'get':
          this.db.get(sql, params, (err: Error | null, row: unknown) => (err ? reject(err) : resolve(row)));
          return;
        case 'all':
          this.db.all(sql, params, (err: Error | null, rows: unknown[]) => (err ? reject(err) : resolve(rows)));
          return;
      }
    });
  }
}
