import { answer, Barrier, epochOf, keyOf, pending, record, rejectedResult, type BarrierCallback, type BarrierContext, type Decided } from './barrier.js';
import type { BarrierResult } from './barrier-store.js';

/** Error code of a Confirm without a successful Try, or a Cancel after Confirm (the coordinator never sends either). */
export const TCC_OUT_OF_ORDER = 'TCC_OUT_OF_ORDER';

/**
 * The barrier for TCC branches, on top of the saga barrier's table (ops
 * `try`, `confirm`, `cancel`), in the same local transaction as the
 * business change:
 *
 * - a Cancel whose Try never arrived (or failed) succeeds without calling
 *   `business` (null cancel), and records the Try as refused;
 * - a Try arriving after its Cancel is refused with BARRIER_REJECTED (hanging);
 * - a duplicate Try, Confirm or Cancel is answered from the stored result,
 *   except a Confirm or Cancel stored FAILED in an earlier compensation
 *   epoch: after a RetrySaga it runs again, once (one that took effect never
 *   runs twice).
 *
 * Errors as for {@link Barrier.execute}: a TerminalError from `business` is a
 * business failure (changes rolled back, FAILED row committed), anything else
 * rolls everything back and is retried.
 */
export class TccBarrier<Tx> extends Barrier<Tx> {
  /** Guards a Try (reserve the resources). */
  async try(ctx: BarrierContext, business: BarrierCallback<Tx>): Promise<Buffer | undefined> {
    const key = keyOf(ctx);
    const decided = await this.store.transaction(async (tx): Promise<Decided> => {
      if ((await this.store.find(tx, key, 'cancel')) !== undefined) {
        ctx.logger?.info({ barrier: 'hanging' }, 'try refused: its cancel already ran');
        const rejected = rejectedResult('try arrived after its cancel (hanging)');
        await this.store.insert(tx, record(key, 'try', rejected));
        return { result: rejected };
      }
      if (!(await this.store.insert(tx, record(key, 'try', pending())))) return { result: await this.stored(tx, key, 'try', ctx) };
      return this.runBusiness(tx, key, 'try', business);
    });
    return answer(decided);
  }

  /** Guards a Confirm (use what Try reserved). */
  async confirm(ctx: BarrierContext, business: BarrierCallback<Tx>): Promise<Buffer | undefined> {
    const key = keyOf(ctx);
    const epoch = epochOf(ctx);
    const decided = await this.store.transaction(async (tx): Promise<Decided> => {
      const stored = await this.claimForEpoch(tx, key, 'confirm', epoch, ctx);
      if (stored !== undefined) return { result: stored };
      const tried = await this.store.find(tx, key, 'try');
      if (tried?.outcome !== 'SUCCEEDED') return this.refuse(tx, key, 'confirm', 'confirm without a successful try');
      if ((await this.store.find(tx, key, 'cancel')) !== undefined) return this.refuse(tx, key, 'confirm', 'confirm after cancel');
      return this.runBusiness(tx, key, 'confirm', business);
    });
    return answer(decided);
  }

  /** Guards a Cancel (release what Try reserved). */
  async cancel(ctx: BarrierContext, business: BarrierCallback<Tx>): Promise<Buffer | undefined> {
    const key = keyOf(ctx);
    const epoch = epochOf(ctx);
    const decided = await this.store.transaction(async (tx): Promise<Decided> => {
      const stored = await this.claimForEpoch(tx, key, 'cancel', epoch, ctx);
      if (stored !== undefined) return { result: stored };
      if ((await this.store.find(tx, key, 'confirm')) !== undefined) return this.refuse(tx, key, 'cancel', 'cancel after confirm');
      const tried = await this.store.find(tx, key, 'try');
      if (tried === undefined || tried.outcome === 'FAILED' || tried.outcome === 'REJECTED') {
        ctx.logger?.info({ barrier: 'null-cancel' }, 'nothing to cancel: try never took effect');
        if (tried === undefined) await this.store.insert(tx, record(key, 'try', rejectedResult('cancelled before it was tried')));
        const nullCancel: BarrierResult = { ...pending(), outcome: 'NULL_COMPENSATION' };
        await this.store.update(tx, key, 'cancel', nullCancel);
        return { result: nullCancel };
      }
      return this.runBusiness(tx, key, 'cancel', business);
    });
    return answer(decided);
  }

  private async refuse(tx: Tx, key: ReturnType<typeof keyOf>, op: 'confirm' | 'cancel', why: string): Promise<Decided> {
    const failed: BarrierResult = { outcome: 'FAILED', output: undefined, errorCode: TCC_OUT_OF_ORDER, errorMessage: why };
    await this.store.update(tx, key, op, failed);
    return { result: failed };
  }
}
