// The gRPC edge of transactional messages: saga.v1 requests in, domain calls,
// saga.v1 responses out. Generated types stop here.

import {
  MessageState as PbMessageState,
  type CommitMessageResponse,
  type GetMessageResponse,
  type PrepareMessageResponse,
  type RollbackMessageResponse,
  type TransactionalMessage,
} from '@saga/proto';
import type { MessageHandlers } from '../grpc/message-handlers.js';
import type { MessageService } from './message-service.js';
import type { MessageState, MessageView } from './message-types.js';

const STATE: Record<MessageState, PbMessageState> = {
  PREPARED: PbMessageState.MESSAGE_STATE_PREPARED,
  COMMITTED: PbMessageState.MESSAGE_STATE_COMMITTED,
  ROLLED_BACK: PbMessageState.MESSAGE_STATE_ROLLED_BACK,
  DISCARDED: PbMessageState.MESSAGE_STATE_DISCARDED,
};

export function grpcMessageHandlers(service: MessageService): MessageHandlers {
  return {
    prepare: async (req): Promise<PrepareMessageResponse> => {
      const deliverAt = req.deliverAt === undefined ? undefined : req.deliverAt.getTime();
      const result = await service.prepare({
        messageId: req.messageId,
        subject: req.subject,
        key: req.key,
        payload: Buffer.from(req.payload),
        headers: { ...req.headers },
        producer: req.producer,
        checkPolicy: {
          checkAfterMs: req.checkPolicy?.checkAfterMs ?? 0,
          checkIntervalMs: req.checkPolicy?.checkIntervalMs ?? 0,
          maxChecks: req.checkPolicy?.maxChecks ?? 0,
          checkTimeoutMs: req.checkPolicy?.checkTimeoutMs ?? 0,
        },
        deliverAt,
      });
      return { messageId: result.messageId, state: STATE[result.state] };
    },
    commit: async (req): Promise<CommitMessageResponse> => ({ state: STATE[await service.commit(req.messageId)] }),
    rollback: async (req): Promise<RollbackMessageResponse> => ({ state: STATE[await service.rollback(req.messageId, req.reason)] }),
    get: async (req): Promise<GetMessageResponse> => ({ message: messageToPb(await service.get(req.messageId)) }),
    producerOf: async (messageId): Promise<string> => (await service.get(messageId)).producer,
  };
}

function messageToPb(m: MessageView): TransactionalMessage {
  const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));
  return {
    messageId: m.id,
    subject: m.subject,
    key: m.key,
    payload: m.payload,
    headers: { ...m.headers },
    producer: m.producer,
    checkPolicy: { ...m.policy },
    state: STATE[m.state],
    checks: m.checks,
    createdAt: new Date(m.createdAt),
    decidedAt: date(m.decidedAt),
    deliverAt: date(m.deliverAt),
    publishedAt: date(m.publishedAt),
    nextCheckAt: m.state === 'PREPARED' ? date(m.nextCheckAt) : undefined,
    reason: m.reason,
  };
}
