import type { BarrierKey, BarrierOp, BarrierRecord, BarrierResult, BarrierStore } from './barrier-store.js';
import type { Logger } from './logger.js';
import { isTerminalError, TerminalError } from './terminal-error.js';

/** What the barrier needs from a call: the step it is about, and optionally a logger (a StepContext fits). */
export interface BarrierContext extends BarrierKey {
  readonly logger?: Logger;
  /** Compensate, Confirm, Cancel: the call's compensation epoch (StepCall.compensation_epoch); default 0. */
  readonly compensationEpoch?: number;
}

/** A business change run by the barrier inside its transaction; `tx` is that transaction. */
export type BarrierCallback<Tx> = (tx: Tx) => Promise<Uint8Array | void>;

/** Error code answered to a late Execute that arrives after its Compensate. */
export const BARRIER_REJECTED = 'BARRIER_REJECTED';

/** A result, plus the TerminalError that produced it when it was produced by this very call. */
export interface Decided {
  result: BarrierResult;
  thrown?: TerminalError;
}

/**
 * The DTM-style barrier of the participant protocol: makes Execute and
 * Compensate safe under duplicates, null compensation and hanging, by
 * recording each operation in the same local transaction as its business
 * change.
 *
 * Guarantees: the business change of an operation commits at most once per
 * (saga, step); a duplicate answers the stored result; a Compensate that
 * arrives before (or instead of) its Execute changes nothing and makes the
 * late Execute fail with BARRIER_REJECTED. Does not guarantee anything about
 * effects outside the transaction (calls to other services, files, e-mails):
 * those run again on a transient retry.
 */
export class Barrier<Tx> {
  constructor(protected readonly store: BarrierStore<Tx>) {}

  /**
   * Guards an Execute. Resolves to the output to return (fresh or stored);
   * throws TerminalError for a business failure (fresh or stored) and for a
   * hanging Execute (BARRIER_REJECTED). A TerminalError thrown by `business`
   * rolls its changes back but commits the row as FAILED; any other error
   * rolls everything back (no row) and is rethrown, so the call is retried.
   */
  async execute(ctx: BarrierContext, business: BarrierCallback<Tx>): Promise<Buffer | undefined> {
    const key = keyOf(ctx);
    const decided = await this.store.transaction(async (tx): Promise<Decided> => {
      if ((await this.store.find(tx, key, 'compensate')) !== undefined) {
        ctx.logger?.info({ barrier: 'hanging' }, 'execute refused: its compensation already ran');
        const rejected = rejectedResult('execute arrived after its compensation (hanging)');
        await this.store.insert(tx, record(key, 'execute', rejected));
        return { result: rejected };
      }
      if (!(await this.store.insert(tx, record(key, 'execute', pending())))) {
        return { result: await this.stored(tx, key, 'execute', ctx) };
      }
      return this.runBusiness(tx, key, 'execute', business);
    });
    return answer(decided);
  }

  /**
   * Guards a Compensate. Resolves to the output to return; when Execute never
   * ran, failed, or was rejected, records a null compensation and resolves
   * without calling `business`. Error handling as for {@link execute}.
   *
   * A stored FAILED compensation answers the calls of its own compensation
   * epoch; a call at a later epoch (the operator retried the saga) runs
   * `business` again. Any other stored result answers every later call: a
   * compensation that took effect never runs twice.
   */
  async compensate(ctx: BarrierContext, business: BarrierCallback<Tx>): Promise<Buffer | undefined> {
    const key = keyOf(ctx);
    const epoch = epochOf(ctx);
    const decided = await this.store.transaction(async (tx): Promise<Decided> => {
      const stored = await this.claimForEpoch(tx, key, 'compensate', epoch, ctx);
      if (stored !== undefined) return { result: stored };
      const executed = await this.store.find(tx, key, 'execute');
      if (executed === undefined || executed.outcome === 'FAILED' || executed.outcome === 'REJECTED') {
        ctx.logger?.info({ barrier: 'null-compensation' }, 'nothing to compensate: execute never took effect');
        if (executed === undefined) {
          await this.store.insert(tx, record(key, 'execute', rejectedResult('compensated before it executed')));
        }
        const nullCompensation: BarrierResult = { ...pending(), outcome: 'NULL_COMPENSATION' };
        await this.store.update(tx, key, 'compensate', nullCompensation);
        return { result: nullCompensation };
      }
      return this.runBusiness(tx, key, 'compensate', business);
    });
    return answer(decided);
  }

  /** Deletes barrier rows older than `ms`; resolves to the number deleted. */
  cleanupOlderThan(ms: number): Promise<number> {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`cleanupOlderThan: ms must be >= 0, got ${ms}`);
    return this.store.deleteOlderThan(new Date(Date.now() - ms));
  }

  protected async runBusiness(tx: Tx, key: BarrierKey, op: BarrierOp, business: BarrierCallback<Tx>): Promise<Decided> {
    try {
      const output = await this.store.savepoint(tx, () => business(tx));
      const succeeded: BarrierResult = {
        ...pending(),
        output: output === undefined ? undefined : Buffer.from(output),
      };
      await this.store.update(tx, key, op, succeeded);
      return { result: succeeded };
    } catch (err) {
      // Anything but a business failure aborts the whole transaction: no row, the call is retried.
      if (!isTerminalError(err)) throw err;
      const failed: BarrierResult = { outcome: 'FAILED', output: undefined, errorCode: err.code, errorMessage: err.message };
      await this.store.update(tx, key, op, failed);
      return { result: failed, thrown: err };
    }
  }

  /**
   * Claims the row of a compensating operation (compensate, confirm, cancel)
   * for the call's epoch: inserts it, or reopens a row stored FAILED in an
   * earlier epoch (the operator retried). Resolves to undefined when the
   * caller must decide the result (and `update` the row), else to the stored
   * result that answers the call: any result but FAILED, or a FAILED one of
   * the call's own or a later epoch.
   */
  protected async claimForEpoch(tx: Tx, key: BarrierKey, op: BarrierOp, epoch: number, ctx: BarrierContext): Promise<BarrierRecord | undefined> {
    if (await this.store.insert(tx, record(key, op, pending(), epoch))) return undefined;
    const stored = await this.found(tx, key, op);
    if (stored.outcome !== 'FAILED' || stored.compensationEpoch >= epoch) return this.duplicate(stored, ctx);
    ctx.logger?.info({ barrier: 'new-epoch', op, storedEpoch: stored.compensationEpoch, epoch }, `${op} failed in an earlier epoch: running it again`);
    await this.store.reopen(tx, key, op, epoch, new Date());
    return undefined;
  }

  /** The stored result of a duplicate call, logged as such. */
  protected async stored(tx: Tx, key: BarrierKey, op: BarrierOp, ctx: BarrierContext): Promise<BarrierResult> {
    return this.duplicate(await this.found(tx, key, op), ctx);
  }

  private async found(tx: Tx, key: BarrierKey, op: BarrierOp): Promise<BarrierRecord> {
    const row = await this.store.find(tx, key, op);
    if (row === undefined) throw new Error(`barrier row ${key.sagaId}/${key.step}/${op} vanished inside its transaction`);
    return row;
  }

  private duplicate(row: BarrierRecord, ctx: BarrierContext): BarrierRecord {
    ctx.logger?.info({ barrier: 'duplicate', op: row.op, outcome: row.outcome }, 'duplicate call: answering the stored result');
    return row;
  }
}

export function keyOf(ctx: BarrierContext): BarrierKey {
  if (!ctx.sagaId || !ctx.step) throw new TypeError('barrier: sagaId and step are required');
  return { sagaId: ctx.sagaId, step: ctx.step };
}

/** The result written with a freshly inserted row, replaced before commit. */
export function pending(): BarrierResult {
  return { outcome: 'SUCCEEDED', output: undefined, errorCode: '', errorMessage: '' };
}

export function rejectedResult(message: string): BarrierResult {
  return { outcome: 'REJECTED', output: undefined, errorCode: BARRIER_REJECTED, errorMessage: message };
}

export function record(key: BarrierKey, op: BarrierOp, result: BarrierResult, compensationEpoch = 0): BarrierRecord {
  return { ...key, op, ...result, compensationEpoch, createdAt: new Date() };
}

export function epochOf(ctx: BarrierContext): number {
  const epoch = ctx.compensationEpoch ?? 0;
  if (!Number.isInteger(epoch) || epoch < 0) throw new TypeError(`barrier: compensationEpoch must be an integer >= 0, got ${epoch}`);
  return epoch;
}

/** Turns a committed result into the handler's answer: output, or a TerminalError thrown after commit. */
export function answer({ result, thrown }: Decided): Buffer | undefined {
  switch (result.outcome) {
    case 'SUCCEEDED':
      return result.output;
    case 'NULL_COMPENSATION':
      return undefined;
    case 'FAILED':
      throw thrown ?? new TerminalError(result.errorCode || 'FAILED', result.errorMessage);
    case 'REJECTED':
      throw new TerminalError(BARRIER_REJECTED, result.errorMessage);
  }
  throw new Error(`unknown barrier outcome ${JSON.stringify(result.outcome)}`);
}
