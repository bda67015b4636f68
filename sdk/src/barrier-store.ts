/** The operations a barrier guards: a saga step's two, and a TCC branch's three. */
export type BarrierOp = 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel';

/** What a barrier row records (column `outcome` of `saga_barrier`). */
export type BarrierOutcome = 'SUCCEEDED' | 'FAILED' | 'NULL_COMPENSATION' | 'REJECTED';

/** Identifies one step of one saga. */
export interface BarrierKey {
  readonly sagaId: string;
  readonly step: string;
}

/** The stored result of one operation. */
export interface BarrierResult {
  outcome: BarrierOutcome;
  /** The operation's output (SUCCEEDED only). */
  output: Buffer | undefined;
  errorCode: string;
  errorMessage: string;
}

/** One row of `saga_barrier`. */
export interface BarrierRecord extends BarrierKey, BarrierResult {
  op: BarrierOp;
  /** The compensation epoch the result was decided in (0 for every op but a compensate, confirm or cancel after a RetrySaga). */
  compensationEpoch: number;
  createdAt: Date;
}

/**
 * Storage of barrier rows in the participant's own database, so that the row
 * and the business change commit in one local transaction. `Tx` is the
 * database's transaction handle, also handed to the business callback.
 * Implemented for SQLite by the SDK; a PostgreSQL store implements the same
 * operations (INSERT … ON CONFLICT DO NOTHING, SAVEPOINT).
 */
export interface BarrierStore<Tx> {
  /** Runs fn in one local transaction: commits when fn resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs fn inside a savepoint of tx; when fn throws, rolls back to the savepoint and rethrows. */
  savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T>;
  /** Inserts the record unless a row exists for (sagaId, step, op); true when it was inserted. */
  insert(tx: Tx, record: BarrierRecord): Promise<boolean>;
  find(tx: Tx, key: BarrierKey, op: BarrierOp): Promise<BarrierRecord | undefined>;
  /** Sets the result of an existing row. */
  update(tx: Tx, key: BarrierKey, op: BarrierOp, result: BarrierResult): Promise<void>;
  /**
   * Claims an existing row again for a later compensation epoch: sets its
   * epoch and creation time (retention counts from here); the barrier sets
   * the result with `update` before the transaction commits.
   */
  reopen(tx: Tx, key: BarrierKey, op: BarrierOp, compensationEpoch: number, createdAt: Date): Promise<void>;
  /** Deletes rows created before the instant; resolves to the number deleted. */
  deleteOlderThan(before: Date): Promise<number>;
}
