import type { ParticipantServer, SqliteBarrier, SqliteTx, StepContext } from '@saga/sdk';
import type { ExampleService } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { jsonOutput, optionalString, parseJsonObject } from '../json-payload.js';
import { NOTIFICATIONS_SCHEMA, recordNotification } from './notifications-table.js';

// Notification: send records a notification (nothing to undo: steps using it
// declare no_compensation) and answers {"notificationId"}. Payload: optional
// "userId", "channel" (default "email") and "message". What earlier steps
// produced (their outputs, e.g. the order id) is kept with the notification,
// as a real one would quote it.

export async function sendNotification(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const payload = parseJsonObject(ctx.payload);
  const notificationId = `ntf-${ctx.sagaId}-${ctx.step}`;
  const message = optionalString(payload, 'message') ?? `${ctx.sagaName} ${ctx.sagaId}: ${ctx.step}`;
  const context = Object.fromEntries([...ctx.outputs].map(([step, output]) => [step, output.toString('utf8')]));
  await recordNotification(tx, {
    notificationId,
    sagaId: ctx.sagaId,
    step: ctx.step,
    recipient: optionalString(payload, 'userId') ?? '',
    channel: optionalString(payload, 'channel') ?? 'email',
    message,
    context,
  });
  return jsonOutput({ notificationId });
}

export const notificationService: ExampleService = {
  name: 'notification',
  migrate: (tx) => tx.exec(NOTIFICATIONS_SCHEMA),
  seed: () => Promise.resolve(),
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    server.register('send', { execute: guardedHandler('execute', barrier, sendNotification) });
  },
};
