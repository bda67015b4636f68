// The transactional-message RPCs of the Coordinator service, behind one
// interface so the saga service does not depend on how messages are kept.

import type {
  CommitMessageRequest,
  CommitMessageResponse,
  GetMessageRequest,
  GetMessageResponse,
  ListMessagesRequest,
  ListMessagesResponse,
  PrepareMessageRequest,
  PrepareMessageResponse,
  RollbackMessageRequest,
  RollbackMessageResponse,
} from '@saga/proto';

export interface MessageHandlers {
  prepare(req: PrepareMessageRequest, signal: AbortSignal): Promise<PrepareMessageResponse>;
  commit(req: CommitMessageRequest, signal: AbortSignal): Promise<CommitMessageResponse>;
  rollback(req: RollbackMessageRequest, signal: AbortSignal): Promise<RollbackMessageResponse>;
  get(req: GetMessageRequest, signal: AbortSignal): Promise<GetMessageResponse>;
  /** ListMessages, its producer filter already set to what the caller may see. */
  list(req: ListMessagesRequest, signal: AbortSignal): Promise<ListMessagesResponse>;
  /** The producer of a message (NOT_FOUND when there is none), for authorization. */
  producerOf(messageId: string, signal: AbortSignal): Promise<string>;
}
