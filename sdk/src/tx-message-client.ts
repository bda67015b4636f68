import {
  credentials as grpcCredentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import {
  CoordinatorClient,
  MessageState,
  type CommitMessageResponse,
  type GetMessageResponse,
  type ListMessagesRequest,
  type ListMessagesResponse,
  type MessageSummary,
  type PrepareMessageRequest,
  type PrepareMessageResponse,
  type RollbackMessageResponse,
  type TransactionalMessage,
} from '@saga/proto';
import { randomUUID } from 'node:crypto';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import { encodePayload } from './payload.js';
import { SagaClientError } from './saga-client-error.js';
import { callMetadata, unaryCall, type UnaryInvoke } from './unary-call.js';
import type {
  TxMessage,
  TxMessageCallOptions,
  TxMessageListFilter,
  TxMessagePage,
  TxMessageRecord,
  TxMessageState,
  TxMessageSummary,
} from './tx-message-types.js';

/** Options of {@link TxMessageClient}. */
export interface TxMessageClientOptions {
  /** The coordinator's `host:port`. Required. */
  address: string;
  /** Channel credentials. Default insecure (plaintext). */
  credentials?: ChannelCredentials;
  /** Deadline of every call in ms. Default 10000. */
  defaultDeadlineMs?: number;
  /** Metadata sent with every call. Default none. */
  callMetadata?: Readonly<Record<string, string>>;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
}

/** The answer to PrepareMessage. */
export interface TxMessagePrepareResult {
  messageId: string;
  /** PREPARED for a new message; the current state when the same message was prepared before. */
  state: TxMessageState;
}


const TO_PROTO: Readonly<Record<TxMessageState, MessageState>> = {
  PREPARED: MessageState.MESSAGE_STATE_PREPARED,
  COMMITTED: MessageState.MESSAGE_STATE_COMMITTED,
  ROLLED_BACK: MessageState.MESSAGE_STATE_ROLLED_BACK,
  DISCARDED: MessageState.MESSAGE_STATE_DISCARDED,
};
const FROM_PROTO = new Map<number, TxMessageState>((Object.keys(TO_PROTO) as TxMessageState[]).map((name) => [TO_PROTO[name], name]));

/**
 * Client of the coordinator's transactional-message calls (PrepareMessage,
 * CommitMessage, RollbackMessage, GetMessage, ListMessages). Every call has a deadline;
 * gRPC errors reject with a {@link SagaClientError} (decide on `codeName`:
 * FAILED_PRECONDITION = commit after rollback or the reverse, ALREADY_EXISTS =
 * the id names other content, UNAVAILABLE = retry later).
 *
 * Most producers use {@link TxMessageProducer}, which drives these calls
 * around the local transaction.
 */
export class TxMessageClient {
  private readonly client: CoordinatorClient;
  private readonly defaultDeadlineMs: number;
  private readonly callMetadata: Readonly<Record<string, string>>;
  private closed = false;

  constructor(options: TxMessageClientOptions) {
    const owner = 'TxMessageClient';
    if (typeof options !== 'object' || options === null) throw invalidOption(owner, 'options', 'an object', options);
    const address = checkNonEmptyString(owner, 'address', options.address);
    this.defaultDeadlineMs = checkInteger(owner, 'defaultDeadlineMs', options.defaultDeadlineMs ?? 10_000, 1);
    for (const [key, value] of Object.entries(options.callMetadata ?? {})) {
      if (typeof value !== 'string') throw invalidOption(owner, `callMetadata.${key}`, 'a string', value);
    }
    this.callMetadata = { ...options.callMetadata };
    this.client = new CoordinatorClient(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
  }

  /**
   * Stores a half message, invisible to consumers until committed. `producer`
   * is the registered participant that answers its check-backs. Idempotent
   * per message id (the default id is a fresh random UUID).
   */
  async prepare(message: TxMessage, producer: string, options?: TxMessageCallOptions): Promise<TxMessagePrepareResult> {
    const request = toPrepareRequest(message, producer);
    const response = await this.unary<PrepareMessageResponse>('PrepareMessage', options, (md, opts, cb) =>
      this.client.prepareMessage(request, md, opts, cb),
    );
    return { messageId: response.messageId, state: stateOf('PrepareMessage', response.state) };
  }

  /** Makes a prepared message deliverable. Idempotent; FAILED_PRECONDITION after a rollback or discard. */
  async commit(messageId: string, options?: TxMessageCallOptions): Promise<TxMessageState> {
    const response = await this.unary<CommitMessageResponse>('CommitMessage', options, (md, opts, cb) =>
      this.client.commitMessage({ messageId }, md, opts, cb),
    );
    return stateOf('CommitMessage', response.state);
  }

  /** Discards a prepared message. Idempotent; FAILED_PRECONDITION after a commit. */
  async rollback(messageId: string, reason = '', options?: TxMessageCallOptions): Promise<TxMessageState> {
    const response = await this.unary<RollbackMessageResponse>('RollbackMessage', options, (md, opts, cb) =>
      this.client.rollbackMessage({ messageId, reason }, md, opts, cb),
    );
    return stateOf('RollbackMessage', response.state);
  }

  /** The message and its state. NOT_FOUND if unknown (or deleted after the coordinator's retention). */
  async get(messageId: string, options?: TxMessageCallOptions): Promise<TxMessageRecord> {
    const response = await this.unary<GetMessageResponse>('GetMessage', options, (md, opts, cb) =>
      this.client.getMessage({ messageId }, md, opts, cb),
    );
    if (response.message === undefined) throw new SagaClientError('GetMessage', status.INTERNAL, 'the response has no message');
    return fromProtoMessage(response.message);
  }

  /**
   * One page of messages, newest first, without payloads (operator or
   * producer credential; a producer sees only its own). Follow
   * `nextPageToken` with the same filter for the next page.
   */
  async list(filter: TxMessageListFilter = {}, options?: TxMessageCallOptions): Promise<TxMessagePage> {
    const request = toListRequest(filter);
    const response = await this.unary<ListMessagesResponse>('ListMessages', options, (md, opts, cb) =>
      this.client.listMessages(request, md, opts, cb),
    );
    return { messages: response.messages.map(fromProtoSummary), nextPageToken: response.nextPageToken };
  }

  private callMetadataOf(): Metadata {
    return callMetadata(this.callMetadata);
  }

  /** Closes the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }

  private unary<Res>(method: string, options: TxMessageCallOptions | undefined, invoke: UnaryInvoke<Res>): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('TxMessageClient is closed'));
    const deadlineMs = checkInteger('TxMessageClient', 'deadlineMs', options?.deadlineMs ?? this.defaultDeadlineMs, 1);
    return unaryCall(method, this.callMetadataOf(), deadlineMs, options?.signal, invoke);
  }

}

/** Fills in the defaults of a message (a fresh id, empty key) so that retries of it are the same request. */
export function withMessageDefaults(message: TxMessage): TxMessage & { messageId: string } {
  if (typeof message !== 'object' || message === null) throw invalidOption('TxMessage', 'message', 'an object', message);
  checkNonEmptyString('TxMessage', 'subject', message.subject);
  return { ...message, messageId: message.messageId ?? randomUUID() };
}

function toPrepareRequest(message: TxMessage, producer: string): PrepareMessageRequest {
  checkNonEmptyString('TxMessage', 'subject', message.subject);
  checkNonEmptyString('TxMessageClient.prepare', 'producer', producer);
  const policy = message.checkPolicy ?? {};
  for (const k of ['checkAfterMs', 'checkIntervalMs', 'maxChecks', 'checkTimeoutMs'] as const) {
    if (policy[k] !== undefined) checkInteger('TxMessage', `checkPolicy.${k}`, policy[k], 1, 0xffff_ffff);
  }
  if (message.deliverAt !== undefined && !(message.deliverAt instanceof Date && Number.isFinite(message.deliverAt.getTime()))) {
    throw invalidOption('TxMessage', 'deliverAt', 'a valid Date', message.deliverAt);
  }
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (typeof value !== 'string') throw invalidOption('TxMessage', `headers.${name}`, 'a string', value);
  }
  return {
    messageId: message.messageId ?? '',
    subject: message.subject,
    key: message.key ?? '',
    payload: encodePayload(message.payload),
    headers: { ...message.headers },
    producer,
    checkPolicy: {
      checkAfterMs: policy.checkAfterMs ?? 0,
      checkIntervalMs: policy.checkIntervalMs ?? 0,
      maxChecks: policy.maxChecks ?? 0,
      checkTimeoutMs: policy.checkTimeoutMs ?? 0,
    },
    deliverAt: message.deliverAt,
  };
}

function toListRequest(filter: TxMessageListFilter): ListMessagesRequest {
  const owner = 'TxMessageClient.list';
  if (typeof filter !== 'object' || filter === null) throw invalidOption(owner, 'filter', 'an object', filter);
  const states = (filter.states ?? []).map((state, i) => {
    const value = TO_PROTO[state];
    if (value === undefined) throw invalidOption(owner, `states[${i}]`, `one of ${Object.keys(TO_PROTO).join(', ')}`, state);
    return value;
  });
  for (const k of ['createdAfter', 'createdBefore'] as const) {
    const at = filter[k];
    if (at !== undefined && !(at instanceof Date && Number.isFinite(at.getTime()))) throw invalidOption(owner, k, 'a valid Date', at);
  }
  return {
    states,
    subject: filter.subject ?? '',
    key: filter.key ?? '',
    producer: filter.producer ?? '',
    createdAfter: filter.createdAfter,
    createdBefore: filter.createdBefore,
    pageSize: filter.pageSize === undefined ? 0 : checkInteger(owner, 'pageSize', filter.pageSize, 1, 1000),
    pageToken: filter.pageToken ?? '',
  };
}

function fromProtoSummary(m: MessageSummary): TxMessageSummary {
  return {
    messageId: m.messageId,
    subject: m.subject,
    key: m.key,
    producer: m.producer,
    maxChecks: m.maxChecks,
    ...lifecycleOf('ListMessages', m),
  };
}

/** The state, check-backs and instants a message and its summary share. */
function lifecycleOf(
  method: string,
  m: MessageSummary | TransactionalMessage,
): Pick<TxMessageRecord, 'state' | 'checks' | 'createdAt' | 'decidedAt' | 'deliverAt' | 'publishedAt' | 'nextCheckAt' | 'reason'> {
  return {
    state: stateOf(method, m.state),
    checks: m.checks,
    createdAt: m.createdAt ?? new Date(0),
    decidedAt: m.decidedAt,
    deliverAt: m.deliverAt,
    publishedAt: m.publishedAt,
    nextCheckAt: m.nextCheckAt,
    reason: m.reason,
  };
}

function stateOf(method: string, state: MessageState): TxMessageState {
  const mapped = FROM_PROTO.get(state);
  if (mapped === undefined) throw new SagaClientError(method, status.INTERNAL, `unknown message state ${state}`);
  return mapped;
}

function fromProtoMessage(m: TransactionalMessage): TxMessageRecord {
  return {
    messageId: m.messageId,
    subject: m.subject,
    key: m.key,
    payload: Buffer.from(m.payload),
    headers: Object.freeze({ ...m.headers }),
    producer: m.producer,
    checkPolicy: {
      checkAfterMs: m.checkPolicy?.checkAfterMs ?? 0,
      checkIntervalMs: m.checkPolicy?.checkIntervalMs ?? 0,
      maxChecks: m.checkPolicy?.maxChecks ?? 0,
      checkTimeoutMs: m.checkPolicy?.checkTimeoutMs ?? 0,
    },
    ...lifecycleOf('GetMessage', m),
  };
}
