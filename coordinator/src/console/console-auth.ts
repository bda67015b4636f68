// Who is calling the console API. The console asks an authenticator (the
// coordinator's, with the gRPC edge's roles) about the Authorization header;
// viewing needs the client role, actions the operator role (which grants client).

import type { Authenticator } from '../auth/authenticator.js';
import { DomainError } from '../domain/errors.js';

export type ConsoleRole = 'client' | 'operator' | 'producer';

export interface ConsolePrincipal {
  readonly roles: ReadonlySet<ConsoleRole>;
  readonly producer?: string;
}

export type AuthFailure = { readonly failure: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; readonly message: string };

/** The shape of the coordinator's authenticator, as the console uses it. */
export interface ConsoleAuthenticator {
  /** `authorization` is the header as received (undefined when absent). */
  authenticate(authorization: string | undefined): ConsolePrincipal | AuthFailure;
  /** Whether a caller without a token can view (no client token configured). */
  readonly openForViewing: boolean;
}

/**
 * The coordinator's Authenticator as the console uses it: the same tokens and
 * roles as the gRPC edge (the console has no client certificates).
 */
export function consoleAuthenticator(auth: Authenticator): ConsoleAuthenticator {
  return {
    openForViewing: auth.open().has('client'),
    authenticate(authorization) {
      const result = auth.authenticate(authorization, []);
      if (!result.ok) {
        const failure = result.error.kind === 'PERMISSION_DENIED' ? 'PERMISSION_DENIED' : 'UNAUTHENTICATED';
        return { failure, message: result.error.message };
      }
      // The console acts only as client and operator: a producer role (open when
      // no producer credential is configured) means nothing here.
      const roles = new Set([...result.principal.roles].filter((r): r is ConsoleRole => r === 'client' || r === 'operator'));
      return { roles };
    },
  };
}

/** The principal, or the domain error the failure is (UNAUTHENTICATED / PERMISSION_DENIED). */
export function requireRole(auth: ConsoleAuthenticator, authorization: string | undefined, role: 'client' | 'operator'): ConsolePrincipal {
  const result = auth.authenticate(authorization);
  if ('failure' in result) throw new DomainError(result.failure, result.message);
  const has = result.roles.has(role) || (role === 'client' && result.roles.has('operator'));
  if (!has) {
    const need = role === 'operator' ? 'the operator role (an operator token)' : 'the client role (a client or operator token)';
    if (authorization === undefined || authorization === '') throw new DomainError('UNAUTHENTICATED', `this needs ${need}: sign in with a token`);
    throw new DomainError('PERMISSION_DENIED', `this needs ${need}`);
  }
  return result;
}

/** The roles as the UI sees them (operator implies client). */
export function effectiveRoles(p: ConsolePrincipal): ConsoleRole[] {
  const roles = new Set(p.roles);
  if (roles.has('operator')) roles.add('client');
  return [...roles].sort();
}
