/**
 * The producer's own record of its transactional messages, kept in its own
 * database: the local transaction that goes with a message records the
 * message id (COMMITTED) in that same transaction, and a check-back that finds
 * no record writes a ROLLED_BACK tombstone, so the answer it gives can never
 * be contradicted by a late local commit.
 */
export interface TxMessageLog<Tx> {
  /** Runs fn in one transaction of the producer's database (the one its business writes use). */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Inside the local transaction, before its business change: records that
   * it commits together with the message. Throws a TxMessageDecidedError when the id is already
   * recorded (ROLLED_BACK by a check-back, or COMMITTED by an earlier
   * transaction), which rolls the local transaction back.
   */
  recordCommit(tx: Tx, messageId: string, key: string): Promise<void>;
  /**
   * Answers a check-back from the record, in a transaction of its own:
   * COMMITTED → COMMIT; ROLLED_BACK → ROLLBACK; no record → writes a
   * ROLLED_BACK tombstone and answers ROLLBACK.
   */
  resolve(messageId: string, key: string): Promise<'COMMIT' | 'ROLLBACK'>;
}
