// Who may call what: the role each RPC requires, and the check of a principal
// against it. Health and reflection are not listed: they stay open.

import { DomainError } from '../domain/errors.js';
import type { Principal, Role } from './principal.js';

export type Rpc =
  | 'StartSaga'
  | 'GetSaga'
  | 'ListSagas'
  | 'WatchSaga'
  | 'AbortSaga'
  | 'RetrySaga'
  | 'ResolveSaga'
  | 'PrepareMessage'
  | 'CommitMessage'
  | 'RollbackMessage'
  | 'GetMessage'
  | 'ListMessages'
  | 'ListDeadLetters'
  | 'ReplayDeadLetter'
  | 'DropDeadLetter';

/**
 * Any one of the listed roles suffices. An operator credential also carries the
 * client role (see Authenticator), so operators read what they act on. The
 * producer role is further bound to the message's producer (authorize's `producer`).
 */
export const RPC_ROLES: Readonly<Record<Rpc, readonly Role[]>> = {
  StartSaga: ['client'],
  GetSaga: ['client'],
  ListSagas: ['client'],
  WatchSaga: ['client'],
  AbortSaga: ['operator'],
  RetrySaga: ['operator'],
  ResolveSaga: ['operator'],
  PrepareMessage: ['producer'],
  CommitMessage: ['producer'],
  RollbackMessage: ['producer'],
  GetMessage: ['producer', 'operator'],
  // Messages carry other producers' business keys: not for the client role.
  ListMessages: ['producer', 'operator'],
  ListDeadLetters: ['operator'],
  ReplayDeadLetter: ['operator'],
  DropDeadLetter: ['operator'],
};

/**
 * Throws UNAUTHENTICATED (no credential) or PERMISSION_DENIED (a credential of
 * another role, or of another producer) unless `principal` may call `rpc`.
 * `producer` is the producer named by the request or owning the message.
 */
export function authorize(principal: Principal, rpc: Rpc, producer?: string): void {
  const allowed = RPC_ROLES[rpc];
  const held = allowed.filter((r) => principal.roles.has(r));
  if (held.length === 0) {
    const needed = allowed.join(' or ');
    if (!principal.authenticated) {
      throw new DomainError('UNAUTHENTICATED', `${rpc} needs a credential of the ${needed} role: metadata "authorization: Bearer <token>" or a mapped client certificate`);
    }
    throw new DomainError('PERMISSION_DENIED', `${rpc} needs the ${needed} role; this credential does not have it`);
  }
  if (producer !== undefined && producerBound(principal, rpc) && principal.producer !== producer) {
    throw new DomainError('PERMISSION_DENIED', `${rpc}: this credential is producer "${principal.producer}"'s, not the message's producer's`);
  }
}

/**
 * Whether `principal` may call `rpc` only as a producer credential, and so
 * only for its own producer's messages: then authorize needs that producer.
 */
export function producerBound(principal: Principal, rpc: Rpc): boolean {
  if (principal.producer === undefined) return false;
  const held = RPC_ROLES[rpc].filter((r) => principal.roles.has(r));
  return held.length === 1 && held[0] === 'producer';
}
