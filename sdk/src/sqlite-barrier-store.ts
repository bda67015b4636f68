import type { BarrierKey, BarrierOp, BarrierOutcome, BarrierRecord, BarrierResult, BarrierStore } from './barrier-store.js';
import { SqliteConnection } from './sqlite-connection.js';
import type { SqliteTx } from './sqlite-tx.js';

/** The barrier table of the participant protocol (same schema in every language). */
export const SAGA_BARRIER_SCHEMA = `
CREATE TABLE IF NOT EXISTS saga_barrier (
  saga_id       TEXT    NOT NULL,
  step          TEXT    NOT NULL,
  op            TEXT    NOT NULL,
  outcome       TEXT    NOT NULL,
  output        BLOB,
  error_code    TEXT    NOT NULL DEFAULT '',
  error_message TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (saga_id, step, op)
);
CREATE INDEX IF NOT EXISTS saga_barrier_created_at ON saga_barrier (created_at);
`;

interface BarrierRow {
  saga_id: string;
  step: string;
  op: BarrierOp;
  outcome: BarrierOutcome;
  output: Buffer | null;
  error_code: string;
  error_message: string;
  created_at: number;
}

/** BarrierStore on one SQLite connection (transactions serialized). */
export class SqliteBarrierStore implements BarrierStore<SqliteTx> {
  private connection: SqliteConnection | undefined;
  private savepoints = 0;

  /** Opens the database (WAL mode) and creates the barrier table. */
  async open(path: string, busyTimeoutMs: number): Promise<void> {
    if (this.connection !== undefined) throw new Error('the barrier database is already open');
    const connection = await SqliteConnection.open(path, busyTimeoutMs);
    try {
      await connection.transaction((tx) => tx.exec(SAGA_BARRIER_SCHEMA));
    } catch (err) {
      await connection.close();
      throw err;
    }
    this.connection = connection;
  }

  async close(): Promise<void> {
    await this.connection?.close();
  }

  transaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    if (this.connection === undefined) return Promise.reject(new Error('the barrier is not started; call start() first'));
    return this.connection.transaction(fn);
  }

  async savepoint<T>(tx: SqliteTx, fn: () => Promise<T>): Promise<T> {
    // Transactions are serialized, but names stay unique in case savepoints ever nest.
    const name = `barrier_business_${++this.savepoints}`;
    await tx.exec(`SAVEPOINT ${name}`);
    try {
      const result = await fn();
      await tx.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      await tx.exec(`ROLLBACK TO ${name}`);
      await tx.exec(`RELEASE ${name}`);
      throw err;
    }
  }

  async insert(tx: SqliteTx, record: BarrierRecord): Promise<boolean> {
    const { changes } = await tx.run(
      `INSERT OR IGNORE INTO saga_barrier
         (saga_id, step, op, outcome, output, error_code, error_message, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.sagaId,
        record.step,
        record.op,
        record.outcome,
        record.output ?? null,
        record.errorCode,
        record.errorMessage,
        record.createdAt.getTime(),
      ],
    );
    return changes === 1;
  }

  async find(tx: SqliteTx, key: BarrierKey, op: BarrierOp): Promise<BarrierRecord | undefined> {
    const row = await tx.get<BarrierRow>(
      'SELECT * FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?',
      [key.sagaId, key.step, op],
    );
    if (row === undefined) return undefined;
    return {
      sagaId: row.saga_id,
      step: row.step,
      op: row.op,
      outcome: row.outcome,
      output: row.output === null ? undefined : Buffer.from(row.output),
      errorCode: row.error_code,
      errorMessage: row.error_message,
      createdAt: new Date(row.created_at),
    };
  }

  async update(tx: SqliteTx, key: BarrierKey, op: BarrierOp, result: BarrierResult): Promise<void> {
    const { changes } = await tx.run(
      `UPDATE saga_barrier SET outcome = ?, output = ?, error_code = ?, error_message = ?
       WHERE saga_id = ? AND step = ? AND op = ?`,
      [result.outcome, result.output ?? null, result.errorCode, result.errorMessage, key.sagaId, key.step, op],
    );
    if (changes !== 1) throw new Error(`barrier row ${key.sagaId}/${key.step}/${op} not found for update`);
  }

  deleteOlderThan(before: Date): Promise<number> {
    return this.transaction(async (tx) => {
      const { changes } = await tx.run('DELETE FROM saga_barrier WHERE created_at < ?', [before.getTime()]);
      return changes;
    });
  }
}
