import type { Logger, SqliteTx } from '@saga/sdk';

// Every change of an order's state, recorded in the order's own database in
// the same transaction as the change (time, from-state, to-state, and the
// saga step that caused it), and logged.

export const ORDER_TRANSITIONS_SCHEMA = `
CREATE TABLE IF NOT EXISTS order_transitions (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id   TEXT    NOT NULL,
  from_state TEXT,
  to_state   TEXT    NOT NULL,
  saga_id    TEXT    NOT NULL,
  step       TEXT    NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS order_transitions_order ON order_transitions (order_id, seq);
`;

export interface Transition {
  readonly orderId: string;
  /** null for the order's creation. */
  readonly from: string | null;
  readonly to: string;
  readonly sagaId: string;
  readonly step: string;
}

/**
 * Moves the order from `from` to `to` (a conditional update: false when the
 * order is no longer in `from`) and records the transition.
 */
export async function recordTransition(tx: SqliteTx, logger: Logger, t: Transition, at = Date.now()): Promise<boolean> {
  if (t.from !== null) {
    const { changes } = await tx.run('UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ? AND status = ?', [
      t.to,
      at,
      t.orderId,
      t.from,
    ]);
    if (changes === 0) return false;
  }
  await tx.run('INSERT INTO order_transitions (order_id, from_state, to_state, saga_id, step, at) VALUES (?, ?, ?, ?, ?, ?)', [
    t.orderId,
    t.from,
    t.to,
    t.sagaId,
    t.step,
    at,
  ]);
  logger.info({ orderId: t.orderId, from: t.from, to: t.to, at }, 'order state changed');
  return true;
}
