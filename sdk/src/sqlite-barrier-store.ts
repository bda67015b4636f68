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
  compensation_epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (saga_id, step, op)
);
CREATE INDEX IF NOT EXISTS saga_barrier_created_at ON saga_barrier (created_at);
`;

/** Tables created before compensation epochs existed get the column (their rows are epoch 0). */
const ADD_COMPENSATION_EPOCH = 'ALTER TABLE saga_barrier ADD COLUMN compensation_epoch INTEGER NOT NULL DEFAULT 0';

async function migrate(tx: SqliteTx): Promise<void> {
  await tx.exec(SAGA_BARRIER_SCHEMA);
  const columns = await tx.all<{ name: string }>("SELECT name FROM pragma_table_info('saga_barrier')");
  if (!columns.some((c) => c.name === 'compensation_epoch')) await tx.exec(ADD_COMPENSATION_EPOCH);
}

interface BarrierRow {
  saga_id: string;
  step: string;
  op: BarrierOp;
  outcome: BarrierOutcome;
  output: Buffer | null;
  error_code: string;
  error_message: string;
  created_at: number;
  compensation_epoch: number;
}

/** BarrierStore on one SQLite connection (transactions serialized). */
export class SqliteBarrierStore implements BarrierStore<SqliteTx> {
  private connection: SqliteConnection | undefined;
  private savepoints = 0;

  /** Opens the database (WAL mode) and creates (or migrates) the barrier table. */
  async open(path: string, busyTimeoutMs: number): Promise<void> {
    if (this.connection !== undefined) throw new Error('the barrier database is already open');
    const connection = await SqliteConnection.open(path, busyTimeoutMs);
    try {
      await connection.transaction(migrate);
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
         (saga_id, step, op, outcome, output, error_code, error_message, created_at, compensation_epoch)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        record.sagaId,
        record.step,
        record.op,
        record.outcome,
        record.output ?? null,
        record.errorCode,
        record.errorMessage,
        record.createdAt.getTime(),
        record.compensationEpoch,
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
      compensationEpoch: row.compensation_epoch,
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

  async reopen(tx: SqliteTx, key: BarrierKey, op: BarrierOp, compensationEpoch: number, createdAt: Date): Promise<void> {
    const { changes } = await tx.run(
      'UPDATE saga_barrier SET compensation_epoch = ?, created_at = ? WHERE saga_id = ? AND step = ? AND op = ?',
      [compensationEpoch, createdAt.getTime(), key.sagaId, key.step, op],
    );
    if (changes !== 1) throw new Error(`barrier row ${key.sagaId}/${key.step}/${op} not found to reopen`);
  }

  deleteOlderThan(before: Date): Promise<number> {
    return this.transaction(async (tx) => {
      const { changes } = await tx.run('DELETE FROM saga_barrier WHERE created_at < ?', [before.getTime()]);
      return changes;
    });
  }
}
