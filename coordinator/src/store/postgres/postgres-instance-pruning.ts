// Deletes the rows of instances that are gone for good, so that a cluster
// restarting often does not grow the instances table: an instance whose lease
// expired more than `expiredForMs` ago and that owns nothing any more (no
// active saga, no unsent outbox row, no pending transactional message; other
// instances claimed them).
//
// Safe against the instance coming back (a process paused that long): every
// write stamping its id as an owner first takes FOR KEY SHARE on its instance
// row (postgres-saga-ownership.ts, fenceUnits). The row is locked here FOR
// UPDATE SKIP LOCKED before what it owns is counted, so a write in progress
// keeps it, and a later write finds it deleted and is refused; the heartbeat
// then finds no row and registers the coordinator anew.

import type pg from 'pg';

/** Instance rows examined per call. */
const PRUNE_BATCH = 100;

/** In a transaction: deletes the rows of instances expired longer than `expiredForMs` that own nothing. Returns their ids. */
export async function pruneInstances(tx: pg.ClientBase, expiredForMs: number): Promise<string[]> {
  const expired = await tx.query<{ id: string }>({
    name: 'instances-long-expired',
    text: `SELECT id FROM instances WHERE lease_until < clock_timestamp() - $1::float8 * interval '1 millisecond'
            ORDER BY lease_until LIMIT ${PRUNE_BATCH} FOR UPDATE SKIP LOCKED`,
    values: [expiredForMs],
  });
  if (expired.rows.length === 0) return [];
  // A statement of its own: its snapshot sees every write committed before the rows were locked.
  const r = await tx.query<{ id: string }>({
    name: 'instances-prune',
    text: `DELETE FROM instances i WHERE i.id = ANY($1::text[])
              AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.owner = i.id AND s.state IN ('RUNNING', 'COMPENSATING'))
              AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.owner = i.id AND o.sent_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM tx_messages m
                               WHERE m.owner = i.id AND (m.state = 'PREPARED' OR (m.state = 'COMMITTED' AND m.enqueued_at IS NULL)))
           RETURNING i.id`,
    values: [expired.rows.map((row) => row.id)],
  });
  return r.rows.map((row) => row.id);
}
