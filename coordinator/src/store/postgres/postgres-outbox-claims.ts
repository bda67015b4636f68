// Who publishes which outbox row on a PostgreSQL database several coordinators
// share. Every instance runs a relay, and each relay publishes only the rows
// its instance owns (outbox.owner), in seq order:
//   - a row is owned by the instance that wrote it (a saga's events by the
//     saga's owner, message deliveries and alerts by the writing instance);
//   - claiming a saga (orphan claim, operator takeover) moves its unsent rows
//     (ordering key = saga id) to the claimer in the same transaction, so the
//     new owner publishes the old rows before its own: per-saga order holds;
//   - the rows an expired instance leaves besides (finished sagas' last
//     events, message deliveries, alerts; not an active saga's, which go with
//     the saga) are claimed in batches by any live instance, whole ordering
//     keys at a time: rows are locked FOR UPDATE SKIP
//     LOCKED and a key is taken only if every one of its orphaned rows was
//     locked, so two claimers never split a key between two live relays.
// A stale owner (paused past its lease) may still publish a row its successor
// publishes too: both carry Nats-Msg-Id = the row's id, and JetStream drops
// the second within its duplicate window. That dedupe is what makes a row
// published twice around a failover harmless; the ownership keeps it rare.

import type pg from 'pg';

/** A row owned by one of $1 (expired instances' ids) or by no one (written before rows had owners). */
const orphaned = (owner: string): string => `(${owner} IS NULL OR ${owner} = ANY($1::text[]))`;

/**
 * Moves the unsent rows of the sagas `sagaIds` (their ordering key) to
 * `instance`. Run in the claim's transaction, after the saga rows are locked:
 * a write of the old owner committed before is seen here, a later one is fenced.
 */
export async function moveSagaOutbox(tx: pg.ClientBase, instance: string, sagaIds: readonly string[]): Promise<number> {
  if (sagaIds.length === 0) return 0;
  const r = await tx.query({
    name: 'outbox-move-with-saga',
    text: 'UPDATE outbox SET owner = $1 WHERE sent_at IS NULL AND ordering_key = ANY($2::text[]) AND owner IS DISTINCT FROM $1',
    values: [instance, sagaIds],
  });
  return r.rowCount ?? 0;
}

/**
 * In a transaction: claims for `instance` the unsent rows of expired
 * instances (or with no owner) of the ordering keys of the first `limit` such
 * rows, whole keys only. Returns the rows claimed.
 */
export async function claimOrphanOutbox(tx: pg.ClientBase, instance: string, limit: number): Promise<number> {
  const dead = (
    await tx.query<{ id: string }>({
      name: 'outbox-dead-instances',
      text: 'SELECT id FROM instances WHERE lease_until <= clock_timestamp() AND id <> $1',
      values: [instance],
    })
  ).rows.map((r) => r.id);
  const candidates = await tx.query<{ seq: number; key: string }>({
    name: 'outbox-orphan-keys',
    text: `WITH keys AS (SELECT DISTINCT ordering_key FROM (
                 SELECT ordering_key FROM outbox WHERE sent_at IS NULL AND ${orphaned('owner')}
                    -- An active saga's rows go with the saga (moveSagaOutbox), to whoever claims it.
                    AND NOT EXISTS (SELECT 1 FROM sagas s WHERE s.id = outbox.ordering_key AND s.state IN ('RUNNING', 'COMPENSATING'))
                  ORDER BY seq LIMIT $2) first)
           SELECT o.seq, o.ordering_key AS key FROM outbox o JOIN keys k ON k.ordering_key = o.ordering_key
            WHERE o.sent_at IS NULL AND ${orphaned('o.owner')}`,
    values: [dead, limit],
  });
  if (candidates.rows.length === 0) return 0;
  // Never waits: a row locked elsewhere (another claimer, a saga claim moving it) is skipped, and so is its key.
  const locked = await tx.query<{ seq: number; key: string }>({
    name: 'outbox-orphan-lock',
    text: `SELECT seq, ordering_key AS key FROM outbox WHERE seq = ANY($2::bigint[]) AND sent_at IS NULL AND ${orphaned('owner')}
            FOR UPDATE SKIP LOCKED`,
    values: [dead, candidates.rows.map((r) => r.seq)],
  });
  const missing = new Map<string, number>();
  for (const r of candidates.rows) missing.set(r.key, (missing.get(r.key) ?? 0) + 1);
  for (const r of locked.rows) missing.set(r.key, (missing.get(r.key) ?? 0) - 1);
  const seqs = locked.rows.filter((r) => missing.get(r.key) === 0).map((r) => r.seq);
  if (seqs.length === 0) return 0;
  const r = await tx.query({ name: 'outbox-orphan-take', text: 'UPDATE outbox SET owner = $1 WHERE seq = ANY($2::bigint[])', values: [instance, seqs] });
  return r.rowCount ?? 0;
}
