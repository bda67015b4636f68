// Per-saga ownership on a PostgreSQL database several coordinators share.
// Each active saga row has an owner instance and a fencing epoch:
//   - a new saga is inserted owned by the instance that accepted it, at FIRST_EPOCH;
//   - claiming takes the active sagas of instances whose lease expired (and
//     those with no owner, from a single-owner database), a batch at a time
//     with FOR NO KEY UPDATE SKIP LOCKED, setting owner and epoch + 1;
//   - taking one saga (an operator command sent to a non-owner) does the same for it;
//   - both move the saga's unsent outbox rows to the new owner in the same
//     transaction (postgres-outbox-claims.ts), whose relay publishes them first;
//   - every write of a saga locks its row (FOR NO KEY UPDATE, in key order) and
//     checks the epoch it was loaded with in the same transaction, so a claim
//     is ordered before or after each write, never in between; a stale
//     owner's unit fails alone with SagaFencedError.

import type pg from 'pg';
import { unavailable } from '../../domain/errors.js';
import { SagaFencedError } from '../saga-fenced-error.js';
import type { WriteUnit } from '../store.js';
import { moveSagaOutbox } from './postgres-outbox-claims.js';

/** The state test of an active saga, matching the partial indexes. */
const ACTIVE = "state IN ('RUNNING', 'COMPENSATING')";

/** A unit queued for the group commit, with the instance that owns the sagas it inserts (fixed when it was queued). */
export interface QueuedUnit {
  readonly unit: WriteUnit;
  readonly owner: string;
}

/**
 * In a transaction: claims up to `limit` orphans for `instance` (active sagas
 * whose owner's lease expired, or that have none) with their unsent outbox
 * rows. Returns their keys (with new epochs).
 */
export async function claimOrphanKeys(tx: pg.ClientBase, instance: string, limit: number): Promise<number[]> {
  const r = await tx.query<{ key: number; id: string }>({
    name: 'claim-orphans',
    text: `WITH dead AS (SELECT id FROM instances WHERE lease_until <= clock_timestamp() AND id <> $1),
                picked AS (
                  SELECT key FROM sagas
                   WHERE ${ACTIVE} AND (owner IS NULL OR owner IN (SELECT id FROM dead))
                   ORDER BY key LIMIT $2
                   FOR NO KEY UPDATE SKIP LOCKED)
           UPDATE sagas SET owner = $1, epoch = sagas.epoch + 1 FROM picked WHERE sagas.key = picked.key
           RETURNING sagas.key, sagas.id`,
    values: [instance, limit],
  });
  await moveSagaOutbox(
    tx,
    instance,
    r.rows.map((row) => row.id),
  );
  return r.rows.map((row) => row.key).sort((a, b) => a - b);
}

/** In a transaction: takes saga `id` over for `instance` whatever its owner, with its unsent outbox rows; its key, or undefined if unknown. */
export async function takeSagaKey(tx: pg.ClientBase, instance: string, id: string): Promise<number | undefined> {
  const r = await tx.query<{ key: number }>({
    name: 'take-saga',
    text: 'UPDATE sagas SET owner = $1, epoch = epoch + 1 WHERE id = $2 RETURNING key',
    values: [instance, id],
  });
  const key = r.rows[0]?.key;
  if (key !== undefined) await moveSagaOutbox(tx, instance, [id]);
  return key;
}

/**
 * In a write transaction, before its writes: locks the rows of the fenced
 * sagas and checks their epochs, and checks that the instances the units
 * stamp as owners (of new sagas, outbox rows, messages) are still registered. Returns each unit's refusal (undefined = write
 * it), or undefined when every unit may be written.
 */
export async function fenceUnits(tx: pg.ClientBase, queued: readonly QueuedUnit[]): Promise<(Error | undefined)[] | undefined> {
  const keys = new Set<number>();
  const owners = new Set<string>();
  for (const q of queued) {
    if (q.unit.fence !== undefined) keys.add(q.unit.fence.key);
    if (stampsOwner(q.unit)) owners.add(q.owner);
  }
  let refused: (Error | undefined)[] | undefined;
  const refuse = (i: number, err: Error): void => {
    refused ??= queued.map(() => undefined);
    refused[i] = err;
  };
  if (keys.size > 0) {
    // Key order: two instances' batches lock shared rows in the same order (no deadlock).
    const r = await tx.query<{ key: number; epoch: number }>({
      name: 'saga-fence',
      text: 'SELECT key, epoch FROM sagas WHERE key = ANY($1::bigint[]) ORDER BY key FOR NO KEY UPDATE',
      values: [[...keys]],
    });
    const epochs = new Map(r.rows.map((row) => [row.key, row.epoch]));
    queued.forEach((q, i) => {
      const fence = q.unit.fence;
      if (fence === undefined) return;
      const now = epochs.get(fence.key);
      if (now !== fence.epoch) refuse(i, new SagaFencedError(fence.key, fence.epoch, now));
    });
  }
  if (owners.size > 0) {
    // What a unit makes its instance own must be claimable if that instance dies: its instance row must exist
    // (and stays while the batch commits: FOR KEY SHARE holds off pruning, postgres-instance-pruning.ts).
    const r = await tx.query<{ id: string }>({
      name: 'owners-present',
      text: 'SELECT id FROM instances WHERE id = ANY($1::text[]) FOR KEY SHARE',
      values: [[...owners]],
    });
    const present = new Set(r.rows.map((row) => row.id));
    queued.forEach((q, i) => {
      if (stampsOwner(q.unit) && !present.has(q.owner)) {
        refuse(i, unavailable(`this coordinator's instance registration (${q.owner}) is gone; retry`));
      }
    });
  }
  return refused;
}

/** Whether a unit writes rows owned by its instance: new sagas, outbox rows, messages and their deliveries or alerts. */
function stampsOwner(u: WriteUnit): boolean {
  return (
    (u.inserts?.length ?? 0) > 0 ||
    (u.outbox?.length ?? 0) > 0 ||
    (u.messageInserts?.length ?? 0) > 0 ||
    (u.messageUpdates ?? []).some((m) => m.delivery !== undefined || m.alert !== undefined)
  );
}
