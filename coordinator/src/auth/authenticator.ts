// Turns what a caller presents (an "authorization: Bearer <token>" header,
// the identities of its client certificate) into a Principal. Tokens are
// compared in constant time over fixed-length digests, so neither a token's
// content nor its length leaks through timing.

import { createHash, timingSafeEqual } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import type { AuthSettings } from './auth-settings.js';
import { ROLES, type Principal, type Role } from './principal.js';

export type AuthResult = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly error: DomainError };

interface Credential {
  readonly roles: ReadonlySet<Role>;
  readonly producer?: string;
}

interface TokenEntry extends Credential {
  readonly digest: Buffer;
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

export class Authenticator {
  private readonly tokens: TokenEntry[];
  private readonly identities: Map<string, Credential>;
  /** Roles no credential is configured for: every caller holds them (no auth = as before). */
  private readonly openRoles: ReadonlySet<Role>;

  constructor(settings: AuthSettings) {
    const byToken = new Map<string, { roles: Set<Role>; producer?: string }>();
    const addToken = (token: string, role: Role, producer?: string): void => {
      const entry = byToken.get(token) ?? { roles: new Set<Role>() };
      entry.roles.add(role);
      if (role === 'operator') entry.roles.add('client');
      if (producer !== undefined) entry.producer = producer;
      byToken.set(token, entry);
    };
    for (const t of settings.tokens.client) addToken(t, 'client');
    for (const t of settings.tokens.operator) addToken(t, 'operator');
    for (const [name, list] of Object.entries(settings.tokens.producer)) for (const t of list) addToken(t, 'producer', name);
    this.tokens = [...byToken].map(([token, c]) => ({ digest: digest(token), roles: c.roles, producer: c.producer }));

    const byIdentity = new Map<string, { roles: Set<Role>; producer?: string }>();
    for (const m of settings.mtls) {
      const entry = byIdentity.get(m.identity) ?? { roles: new Set<Role>() };
      entry.roles.add(m.role);
      if (m.role === 'operator') entry.roles.add('client');
      if (m.producer !== undefined) entry.producer = m.producer;
      byIdentity.set(m.identity, entry);
    }
    this.identities = new Map(byIdentity);

    const configured = new Set<Role>();
    for (const t of this.tokens) for (const r of t.roles) configured.add(r);
    for (const c of this.identities.values()) for (const r of c.roles) configured.add(r);
    // An operator credential grants client, but does not close the client role to callers without one.
    if (settings.tokens.client.length === 0 && !settings.mtls.some((m) => m.role === 'client')) configured.delete('client');
    this.openRoles = new Set(ROLES.filter((r) => !configured.has(r)));
  }

  /** Roles every caller holds because no credential is configured for them. */
  open(): ReadonlySet<Role> {
    return this.openRoles;
  }

  /** Whether any credential at all is configured. */
  enabled(): boolean {
    return this.openRoles.size < ROLES.length;
  }

  /**
   * `authorization` is the header's value; `peerIdentities` the verified client
   * certificate's identities ("CN=…", "DNS:…"), empty without one. A header that
   * is malformed or names no configured token is UNAUTHENTICATED (when tokens are configured at all).
   */
  authenticate(authorization: string | undefined, peerIdentities: readonly string[]): AuthResult {
    const roles = new Set<Role>(this.openRoles);
    let producer: string | undefined;
    let authenticated = false;
    const grant = (c: Credential): void => {
      for (const r of c.roles) roles.add(r);
      producer ??= c.producer;
      authenticated = true;
    };
    for (const id of peerIdentities) {
      const c = this.identities.get(id);
      if (c !== undefined) grant(c);
    }
    if (authorization !== undefined && this.tokens.length > 0) {
      const m = BEARER.exec(authorization);
      if (m === null) return refuse('the authorization metadata must be "Bearer <token>"');
      const presented = digest(m[1] as string);
      // Compare against every token, whatever matches first, so timing does not say which one.
      let found: TokenEntry | undefined;
      for (const t of this.tokens) if (timingSafeEqual(t.digest, presented) && found === undefined) found = t;
      if (found === undefined) return refuse('the bearer token is not a token of this coordinator');
      grant(found);
    }
    return { ok: true, principal: { roles, producer, authenticated } };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function refuse(message: string): AuthResult {
  return { ok: false, error: new DomainError('UNAUTHENTICATED', message) };
}
