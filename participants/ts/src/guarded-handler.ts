import type { SqliteBarrier, SqliteTx, StepContext, StepHandler } from '@saga/sdk';
import { withFaults, type FaultOperation } from './faults.js';

/** A business change made inside the barrier's transaction. */
export type BusinessChange = (tx: SqliteTx, ctx: StepContext) => Promise<Uint8Array | void>;

/** A step handler: business change inside the barrier, wrapped by the fault switches. */
export function guardedHandler(op: FaultOperation, barrier: SqliteBarrier, change: BusinessChange): StepHandler {
  return withFaults(op, barrier, (ctx) => barrier[op](ctx, (tx) => change(tx, ctx)));
}
