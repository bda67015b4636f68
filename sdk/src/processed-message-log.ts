/**
 * The consumer's own record of the messages it has processed, kept in its own
 * database: marking a message and applying its effect happen in one local
 * transaction, so a redelivered message is recognised and skipped.
 */
export interface ProcessedMessageLog<Tx> {
  /** Runs fn in one transaction of the consumer's database (the one its business writes use). */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Inside the transaction: records the message; false when `consumer` already processed it. */
  markProcessed(tx: Tx, consumer: string, messageId: string, subject: string): Promise<boolean>;
}
