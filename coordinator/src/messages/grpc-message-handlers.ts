// The gRPC edge of transactional messages: saga.v1 requests in, domain calls,
// saga.v1 responses out. Generated types stop here.

import {
  MessageState as PbMessageState,
  type CommitMessageResponse,
  type GetMessageResponse,
  type ListMessagesRequest,
  type ListMessagesResponse,
  type MessageSummary as PbMessageSummary,
  type PrepareMessageResponse,
  type RollbackMessageResponse,
  type TransactionalMessage,
} from '@saga/proto';
import { invalidArgument } from '../domain/errors.js';
import { checkMaxLength, FIELD_LIMITS } from '../domain/field-limits.js';
import type { MessageHandlers } from '../grpc/message-handlers.js';
import { pageTokenCodec } from '../grpc/page-token.js';
import type { MessageListQuery, MessageListReads, MessageSummary } from './message-list.js';
import type { MessageService } from './message-service.js';
import type { MessageState, MessageView } from './message-types.js';

const STATE: Record<MessageState, PbMessageState> = {
  PREPARED: PbMessageState.MESSAGE_STATE_PREPARED,
  COMMITTED: PbMessageState.MESSAGE_STATE_COMMITTED,
  ROLLED_BACK: PbMessageState.MESSAGE_STATE_ROLLED_BACK,
  DISCARDED: PbMessageState.MESSAGE_STATE_DISCARDED,
};

const STATE_FROM_PB = new Map<number, MessageState>(Object.entries(STATE).map(([domain, pb]) => [pb, domain as MessageState]));

/** ListMessages pages are at most this big; 0 asks for the default. */
const MAX_LIST_PAGE = 1000;
const DEFAULT_LIST_PAGE = 100;
const listTokens = pageTokenCodec('ListMessages', FIELD_LIMITS.messagePageToken);

export interface GrpcMessageListing {
  /** The store's listing of messages (the console's read). */
  readonly reads: MessageListReads;
  /** messages.limits.maxKeyBytes: a longer key filter could match no message. */
  readonly maxKeyBytes: number;
}

export function grpcMessageHandlers(service: MessageService, listing: GrpcMessageListing): MessageHandlers {
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
    list: async (req): Promise<ListMessagesResponse> => {
      const page = await listing.reads.listMessages(listQueryFromPb(req, listing.maxKeyBytes));
      return { messages: page.messages.map(summaryToPb), nextPageToken: listTokens.encode(page.nextPageToken) };
    },
    producerOf: async (messageId): Promise<string> => (await service.get(messageId)).producer,
  };
}

/** Every problem is INVALID_ARGUMENT naming the request field. */
function listQueryFromPb(req: ListMessagesRequest, maxKeyBytes: number): MessageListQuery {
  const states = req.states.map((s, i) => {
    const state = STATE_FROM_PB.get(s);
    if (state === undefined) throw invalidArgument(`states[${i}]`, `${s} is not a message state (PREPARED, COMMITTED, ROLLED_BACK, DISCARDED)`);
    return state;
  });
  checkMaxLength('subject', req.subject, FIELD_LIMITS.subject);
  if (Buffer.byteLength(req.key, 'utf8') > maxKeyBytes) throw invalidArgument('key', `is longer than ${maxKeyBytes} bytes`);
  checkMaxLength('producer', req.producer, FIELD_LIMITS.name);
  const createdAfter = req.createdAfter?.getTime();
  const createdBefore = req.createdBefore?.getTime();
  if (createdAfter !== undefined && createdBefore !== undefined && createdBefore <= createdAfter) {
    throw invalidArgument('created_before', 'must be after created_after');
  }
  if (req.pageSize > MAX_LIST_PAGE) throw invalidArgument('page_size', `must be at most ${MAX_LIST_PAGE} (0 = ${DEFAULT_LIST_PAGE})`);
  return {
    states,
    subject: req.subject,
    key: req.key,
    producer: req.producer,
    createdAfter,
    createdBefore,
    pageSize: req.pageSize === 0 ? DEFAULT_LIST_PAGE : req.pageSize,
    pageToken: listTokens.decode(req.pageToken),
  };
}

function summaryToPb(m: MessageSummary): PbMessageSummary {
  return {
    messageId: m.messageId,
    subject: m.subject,
    key: m.key,
    producer: m.producer,
    maxChecks: m.maxChecks,
    ...lifecycleToPb(m),
  };
}

/** The state, check-backs and instants a message and its summary share. */
function lifecycleToPb(m: MessageSummary | MessageView): Pick<PbMessageSummary, 'state' | 'checks' | 'createdAt' | 'decidedAt' | 'deliverAt' | 'publishedAt' | 'nextCheckAt' | 'reason'> {
  const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));
  return {
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

function messageToPb(m: MessageView): TransactionalMessage {
  return {
    messageId: m.id,
    subject: m.subject,
    key: m.key,
    payload: m.payload,
    headers: { ...m.headers },
    producer: m.producer,
    checkPolicy: { ...m.policy },
    ...lifecycleToPb(m),
  };
}
