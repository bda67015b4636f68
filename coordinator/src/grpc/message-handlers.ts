// The transactional-message RPCs of the Coordinator service, behind one
// interface so the saga service does not depend on how messages are kept.

import type {
  CommitMessageRequest,
  CommitMessageResponse,
  GetMessageRequest,
  GetMessageResponse,
  PrepareMessageRequest,
  PrepareMessageResponse,
  RollbackMessageRequest,
  RollbackMessageResponse,
} from '@saga/proto';
import { DomainError } from '../domain/errors.js';

export interface MessageHandlers {
  prepare(req: PrepareMessageRequest, signal: AbortSignal): Promise<PrepareMessageResponse>;
  commit(req: CommitMessageRequest, signal: AbortSignal): Promise<CommitMessageResponse>;
  rollback(req: RollbackMessageRequest, signal: AbortSignal): Promise<RollbackMessageResponse>;
  get(req: GetMessageRequest, signal: AbortSignal): Promise<GetMessageResponse>;
}

/** Answers UNIMPLEMENTED: used until transactional messages are enabled in this build. */
export const messagesNotImplemented: MessageHandlers = {
  prepare: () => Promise.reject(notYet()),
  commit: () => Promise.reject(notYet()),
  rollback: () => Promise.reject(notYet()),
  get: () => Promise.reject(notYet()),
};

function notYet(): DomainError {
  return new DomainError('UNIMPLEMENTED', 'transactional messages are not implemented in this build yet');
}
