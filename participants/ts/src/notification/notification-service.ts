import type { ParticipantServer, SqliteBarrier, SqliteTx, StepContext } from '@saga/sdk';
import type { ExampleService } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { jsonOutput, optionalString, parseJsonObject } from '../json-payload.js';

// Notification: send records a notification (nothing to undo: steps using it
// declare no_compensation) and answers {"notificationId"}. Payload: optional
// "userId", "channel" (default "email") and "message". What earlier steps
// produced (their outputs, e.g. the order id) is kept with the notification,
// as a real one would quote it.

const SCHEMA = `
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

export async function sendNotification(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const payload = parseJsonObject(ctx.payload);
  const notificationId = `ntf-${ctx.sagaId}-${ctx.step}`;
  const message = optionalString(payload, 'message') ?? `${ctx.sagaName} ${ctx.sagaId}: ${ctx.step}`;
  const context = Object.fromEntries([...ctx.outputs].map(([step, output]) => [step, output.toString('utf8')]));
  await tx.run(
    `INSERT INTO notifications (notification_id, saga_id, step, recipient, channel, message, context, sent_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      notificationId,
      ctx.sagaId,
      ctx.step,
      optionalString(payload, 'userId') ?? '',
      optionalString(payload, 'channel') ?? 'email',
      message,
      JSON.stringify(context),
      Date.now(),
    ],
  );
  return jsonOutput({ notificationId });
}

export const notificationService: ExampleService = {
  name: 'notification',
  migrate: (tx) => tx.exec(SCHEMA),
  seed: () => Promise.resolve(),
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    server.register('send', { execute: guardedHandler('execute', barrier, sendNotification) });
  },
};
