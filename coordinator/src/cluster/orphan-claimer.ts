// Failover between coordinators sharing a store: every `intervalMs` this
// instance claims the active sagas of instances whose lease expired (a batch
// per transaction, as long as full batches come back) and resumes them
// through the recovery path (their unsent outbox rows move with them), then
// their pending transactional messages, then the outbox rows they left
// besides (for this instance's relay), and deletes the rows of instances gone
// long ago that own nothing. When its own lease was lost it drops every saga
// it holds (other instances may be claiming them) and carries on as a new
// instance. Lifecycle: start() after engine.start(), close() before engine.close().

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ClaimedSaga, SagaOwnership } from '../store/store.js';

export interface OrphanClaimerOptions {
  readonly ownership: SagaOwnership;
  /** Resumes a claimed saga (SagaEngine.adopt); returns its in-doubt calls re-sent. */
  readonly adopt: (claimed: ClaimedSaga) => number;
  /** Arms a claimed transactional message's check-back or delivery (MessageService.adopt). */
  readonly adoptMessage: (id: string, wakeAt: number) => void;
  /** Drops every saga held here (SagaEngine.dropAll). */
  readonly dropAll: (reason: string) => number;
  /** Drops every message check-back and delivery armed here (MessageService.dropAll). */
  readonly dropMessages: () => void;
  /** Outbox rows were claimed (with sagas or alone): this instance's relay should publish them now (OutboxRelay.wake). */
  readonly outboxClaimed?: () => void;
  readonly intervalMs: number;
  readonly batch: number;
  readonly logger: Logger;
}

export class OrphanClaimer {
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private claimed = 0;

  constructor(private readonly options: OrphanClaimerOptions) {
    for (const k of ['intervalMs', 'batch'] as const) {
      if (!Number.isInteger(options[k]) || options[k] < 1) throw new Error(`OrphanClaimer: ${k} must be a positive integer`);
    }
  }

  start(): void {
    if (this.loop !== undefined) throw new Error('OrphanClaimer already started');
    this.options.ownership.onLeaseLost((err) => {
      if (this.stop.signal.aborted) return;
      this.options.logger.error({ err: err.message, instance: this.options.ownership.instanceId() }, 'this instance lost its lease; dropping its sagas');
      this.options.dropAll(err.message);
      this.options.dropMessages();
    });
    this.loop = this.run();
  }

  /** Sagas claimed since start. */
  claimedCount(): number {
    return this.claimed;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { ownership, adopt, batch, logger } = this.options;
    while (!this.stop.signal.aborted) {
      try {
        await sleep(this.options.intervalMs, undefined, { signal: this.stop.signal });
      } catch {
        return;
      }
      try {
        for (;;) {
          let inDoubt = 0;
          const n = await ownership.claimOrphans(batch, (c) => (inDoubt += adopt(c)));
          if (n > 0) {
            this.claimed += n;
            this.options.outboxClaimed?.();
            logger.info({ sagas: n, inDoubt, instance: ownership.instanceId() }, 'claimed the sagas of an expired instance');
          }
          if (n < batch || this.stop.signal.aborted) break;
        }
        for (;;) {
          const n = await ownership.claimMessages(batch, (id, wakeAt) => this.options.adoptMessage(id, wakeAt));
          if (n > 0) logger.info({ messages: n, instance: ownership.instanceId() }, 'claimed the pending messages of an expired instance');
          if (n < batch || this.stop.signal.aborted) break;
        }
        for (;;) {
          const n = await ownership.claimOrphanOutbox(batch);
          if (n > 0) {
            logger.info({ outboxRows: n, instance: ownership.instanceId() }, 'claimed the unsent outbox rows of an expired instance');
            this.options.outboxClaimed?.();
          }
          if (n < batch || this.stop.signal.aborted) break;
        }
        const pruned = await ownership.pruneInstances();
        if (pruned.length > 0) logger.info({ instances: pruned }, 'deleted the rows of instances expired long ago that own nothing');
      } catch (err) {
        logger.warn({ err }, 'claiming orphaned sagas failed; trying again');
      }
    }
  }
}
