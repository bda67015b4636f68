import { status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTempParticipant, type TempParticipant } from '../testing/temp-participant.js';

let notification: TempParticipant;

beforeEach(async () => {
  notification = await startTempParticipant('notification');
});

afterEach(async () => {
  await notification.close();
});

const send = { sagaId: 'saga-1', step: 'notify', action: 'send', payload: { userId: 'user-1', message: 'order placed' } };

describe('notification participant', () => {
  it('records a sent notification once, even for duplicate calls', async () => {
    const answer = await notification.caller.execute(send);
    expect(answer.kind).toBe('SUCCEEDED');
    if (answer.kind === 'SUCCEEDED') expect(JSON.parse(answer.output.toString())).toEqual({ notificationId: 'ntf-saga-1-notify' });
    await notification.caller.execute({ ...send, attempt: 2 });
    expect(await notification.query('SELECT notification_id, recipient, channel, message FROM notifications')).toEqual([
      { notification_id: 'ntf-saga-1-notify', recipient: 'user-1', channel: 'email', message: 'order placed' },
    ]);
  });

  it('has no compensation', async () => {
    expect(await notification.caller.compensate(send)).toMatchObject({ kind: 'GRPC_ERROR', code: status.UNIMPLEMENTED });
  });
});
