import { checkInteger, invalidOption } from './option-validation.js';
import type { SqliteTx } from './sqlite-tx.js';
import { TxMessageDecidedError } from './tx-message-decided-error.js';
import type { TxMessageLog } from './tx-message-log.js';

/** Options of {@link SqliteTxMessageLog}. */
export interface SqliteTxMessageLogOptions {
  /**
   * Runs a transaction on the producer's database, on the connection its
   * business writes use, e.g. `(fn) => barrier.transaction(fn)`. Required.
   */
  transaction: <T>(fn: (tx: SqliteTx) => Promise<T>) => Promise<T>;
}

/** The log's table (created by `start()`). */
export const TX_MESSAGE_LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS tx_message_log (
  message_id TEXT    PRIMARY KEY,
  msg_key    TEXT    NOT NULL,
  status     TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tx_message_log_created_at ON tx_message_log (created_at);
`;

/**
 * {@link TxMessageLog} in a `tx_message_log` table of the producer's SQLite
 * database. Transactions are `BEGIN IMMEDIATE`, so a check-back and the local
 * transaction of the same message never interleave (even across processes
 * sharing the file).
 */
export class SqliteTxMessageLog implements TxMessageLog<SqliteTx> {
  private readonly run: SqliteTxMessageLogOptions['transaction'];

  constructor(options: SqliteTxMessageLogOptions) {
    if (typeof options?.transaction !== 'function') {
      throw invalidOption('SqliteTxMessageLog', 'transaction', 'a function running a transaction', options?.transaction);
    }
    this.run = options.transaction;
  }

  /** Creates the table if missing. */
  async start(): Promise<void> {
    await this.run((tx) => tx.exec(TX_MESSAGE_LOG_SCHEMA));
  }

  transaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    return this.run(fn);
  }

  async recordCommit(tx: SqliteTx, messageId: string, key: string): Promise<void> {
    const inserted = await tx.run(
      `INSERT INTO tx_message_log (message_id, msg_key, status, created_at) VALUES (?, ?, 'COMMITTED', ?)
       ON CONFLICT (message_id) DO NOTHING`,
      [messageId, key, Date.now()],
    );
    if (inserted.changes === 1) return;
    const row = await tx.get<{ status: 'COMMITTED' | 'ROLLED_BACK' }>('SELECT status FROM tx_message_log WHERE message_id = ?', [messageId]);
    const decided = row?.status ?? 'COMMITTED';
    throw new TxMessageDecidedError(
      messageId,
      decided,
      decided === 'ROLLED_BACK' ? 'a check-back was answered ROLLBACK' : 'an earlier local transaction committed with this id',
    );
  }

  resolve(messageId: string, key: string): Promise<'COMMIT' | 'ROLLBACK'> {
    return this.run(async (tx) => {
      // No record means the local transaction never committed; the tombstone makes sure it never will.
      await tx.run(
        `INSERT INTO tx_message_log (message_id, msg_key, status, created_at) VALUES (?, ?, 'ROLLED_BACK', ?)
         ON CONFLICT (message_id) DO NOTHING`,
        [messageId, key, Date.now()],
      );
      const row = await tx.get<{ status: string }>('SELECT status FROM tx_message_log WHERE message_id = ?', [messageId]);
      return row?.status === 'COMMITTED' ? 'COMMIT' : 'ROLLBACK';
    });
  }

  /** The recorded status of a message id, if any. */
  status(messageId: string): Promise<'COMMITTED' | 'ROLLED_BACK' | undefined> {
    return this.run(async (tx) => {
      const row = await tx.get<{ status: 'COMMITTED' | 'ROLLED_BACK' }>('SELECT status FROM tx_message_log WHERE message_id = ?', [messageId]);
      return row?.status;
    });
  }

  /**
   * Deletes records older than `ageMs`. Keep them longer than the
   * coordinator may check a message back (check_after + max_checks ×
   * interval: 7.5 min by default): a check-back that finds no record answers
   * ROLLBACK, even for a transaction that committed.
   */
  async deleteOlderThan(ageMs: number): Promise<number> {
    checkInteger('SqliteTxMessageLog.deleteOlderThan', 'ageMs', ageMs, 1);
    return this.run(async (tx) => (await tx.run('DELETE FROM tx_message_log WHERE created_at < ?', [Date.now() - ageMs])).changes);
  }
}
