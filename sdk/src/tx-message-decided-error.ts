/**
 * A local transaction was not run, or was rolled back, because its message
 * id is already decided: in the producer's log (a check-back answered
 * ROLLBACK, or an earlier local transaction committed with that id) or at the
 * coordinator (the message is already committed, rolled back or discarded).
 */
export class TxMessageDecidedError extends Error {
  constructor(
    readonly messageId: string,
    /** COMMITTED: the message is (being) delivered with an earlier local change. ROLLED_BACK: it never will be. */
    readonly decided: 'COMMITTED' | 'ROLLED_BACK',
    detail: string,
  ) {
    super(`message ${messageId} is already ${decided} (${detail}); this local transaction did not commit`);
    this.name = 'TxMessageDecidedError';
  }
}
