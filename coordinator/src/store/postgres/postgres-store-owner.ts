// One coordinator writes a PostgreSQL database at a time. Opening takes a
// session advisory lock on a connection of its own (a second coordinator is
// refused while the first one's session lives) and bumps the fencing epoch in
// store_owner. Every group-committed transaction first reads that epoch under
// FOR SHARE: if the lock's session was lost (the server ended it, a network
// partition) and another coordinator took over, the old one's writes are
// refused, never interleaved with the new owner's, and the old one latches.
// (Several coordinators sharing one database need per-saga leases; see README
// "Running several coordinators".)

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { unavailable } from '../../domain/errors.js';

/** Any constant: the advisory lock of the database's writer. */
const OWNER_LOCK = 7_211_940_432;

export class StoreOwnership {
  private client: pg.Client | undefined;
  private epoch = 0;
  private lost: Error | undefined;

  private constructor(private readonly instance: string) {}

  /**
   * Takes the lock and the next epoch. Waits up to `waitMs` for it: the
   * server ends the session of a coordinator that was just killed only once it
   * sees the connection closed. Then fails, naming who holds the database.
   */
  static async acquire(config: pg.ClientConfig, instance: string, waitMs: number): Promise<StoreOwnership> {
    const owner = new StoreOwnership(instance);
    const client = new pg.Client(config);
    await client.connect();
    try {
      const until = Date.now() + waitMs;
      let locked = false;
      for (;;) {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [OWNER_LOCK]);
        locked = r.rows[0]?.ok === true;
        if (locked || Date.now() >= until) break;
        await sleep(200);
      }
      if (!locked) {
        const held = await client.query<{ instance: string }>('SELECT instance FROM store_owner');
        throw new Error(
          `another coordinator (${held.rows[0]?.instance ?? 'unknown'}) is using this PostgreSQL database; ` +
            'one coordinator per database (see README "Running several coordinators")',
        );
      }
      const r = await client.query<{ epoch: number }>('UPDATE store_owner SET epoch = epoch + 1, instance = $1, since = $2 RETURNING epoch', [
        instance,
        Date.now(),
      ]);
      owner.epoch = r.rows[0]?.epoch ?? 0;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    // The session holding the lock ended: someone else may take over; stop writing.
    client.on('error', (err) => owner.latch(err));
    client.on('end', () => owner.latch(new Error('the connection holding the database lock ended')));
    owner.client = client;
    return owner;
  }

  /** The epoch this coordinator writes under. */
  currentEpoch(): number {
    return this.epoch;
  }

  /** Inside a write transaction, before its writes: refuses them unless this coordinator still owns the database. */
  async check(tx: pg.ClientBase): Promise<void> {
    if (this.lost !== undefined) throw this.refusal();
    const r = await tx.query<{ epoch: number; instance: string }>({
      name: 'owner-epoch',
      text: 'SELECT epoch, instance FROM store_owner FOR SHARE',
    });
    const row = r.rows[0];
    if (row?.epoch !== this.epoch) {
      this.latch(new Error(`coordinator ${row?.instance ?? 'unknown'} took over the database (epoch ${row?.epoch ?? '?'}, ours ${this.epoch})`));
      throw this.refusal();
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    // Ending the session releases its advisory lock.
    await client.end().catch(() => undefined);
  }

  private latch(err: Error): void {
    this.lost ??= err;
  }

  private refusal(): Error {
    return unavailable(`this coordinator (${this.instance}) no longer owns the database: ${this.lost?.message ?? 'fenced'}`);
  }
}
