import { checkInteger, invalidOption } from './option-validation.js';
import type { ProcessedMessageLog } from './processed-message-log.js';
import type { SqliteTx } from './sqlite-tx.js';

/** Options of {@link SqliteProcessedMessageLog}. */
export interface SqliteProcessedMessageLogOptions {
  /**
   * Runs a transaction on the consumer's database, on the connection its
   * business writes use, e.g. `(fn) => barrier.transaction(fn)`. Required.
   */
  transaction: <T>(fn: (tx: SqliteTx) => Promise<T>) => Promise<T>;
}

/** The log's table (created by `start()`). */
export const PROCESSED_MESSAGES_SCHEMA = `
CREATE TABLE IF NOT EXISTS processed_messages (
  consumer     TEXT    NOT NULL,
  message_id   TEXT    NOT NULL,
  subject      TEXT    NOT NULL,
  processed_at INTEGER NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX IF NOT EXISTS processed_messages_processed_at ON processed_messages (processed_at);
`;

/** {@link ProcessedMessageLog} in a `processed_messages` table of the consumer's SQLite database. */
export class SqliteProcessedMessageLog implements ProcessedMessageLog<SqliteTx> {
  private readonly run: SqliteProcessedMessageLogOptions['transaction'];

  constructor(options: SqliteProcessedMessageLogOptions) {
    if (typeof options?.transaction !== 'function') {
      throw invalidOption('SqliteProcessedMessageLog', 'transaction', 'a function running a transaction', options?.transaction);
    }
    this.run = options.transaction;
  }

  /** Creates the table if missing. */
  async start(): Promise<void> {
    await this.run((tx) => tx.exec(PROCESSED_MESSAGES_SCHEMA));
  }

  transaction<T>(fn: (tx: SqliteTx) => Promise<T>): Promise<T> {
    return this.run(fn);
  }

  async markProcessed(tx: SqliteTx, consumer: string, messageId: string, subject: string): Promise<boolean> {
    const r = await tx.run(
      `INSERT INTO processed_messages (consumer, message_id, subject, processed_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (consumer, message_id) DO NOTHING`,
      [consumer, messageId, subject, Date.now()],
    );
    return r.changes === 1;
  }

  /**
   * Deletes records older than `ageMs`. Keep them longer than a message can be
   * redelivered or re-published (the stream's max age), or a late duplicate
   * would be processed again.
   */
  async deleteOlderThan(ageMs: number): Promise<number> {
    checkInteger('SqliteProcessedMessageLog.deleteOlderThan', 'ageMs', ageMs, 1);
    return this.run(async (tx) => (await tx.run('DELETE FROM processed_messages WHERE processed_at < ?', [Date.now() - ageMs])).changes);
  }
}
