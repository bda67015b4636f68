import type { SqliteTx } from '@saga/sdk';

// The notifications table, shared by the notification service (its `send`
// action) and the orders service, which notifies the user of a cancelled,
// refunded or returned order in the same local transaction as the state
// change: the notice exists if and only if the change committed (an outbox a
// mail sender drains).

export const NOTIFICATIONS_SCHEMA = `
CREATE TABLE IF NOT EXISTS notifications (
  notification_id TEXT    PRIMARY KEY,
  saga_id         TEXT    NOT NULL,
  step            TEXT    NOT NULL,
  recipient       TEXT    NOT NULL,
  channel         TEXT    NOT NULL,
  message         TEXT    NOT NULL,
  context         TEXT    NOT NULL DEFAULT '{}',
  sent_at         INTEGER NOT NULL
);
`;

export interface Notification {
  readonly notificationId: string;
  readonly sagaId: string;
  readonly step: string;
  readonly recipient: string;
  readonly channel: string;
  readonly message: string;
  readonly context: Readonly<Record<string, unknown>>;
}

/** Records a notification; a second one with the same id changes nothing (replays stay single). */
export async function recordNotification(tx: SqliteTx, n: Notification): Promise<void> {
  await tx.run(
    `INSERT OR IGNORE INTO notifications (notification_id, saga_id, step, recipient, channel, message, context, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [n.notificationId, n.sagaId, n.step, n.recipient, n.channel, n.message, JSON.stringify(n.context), Date.now()],
  );
}
