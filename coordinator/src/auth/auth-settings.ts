// The `auth` section of the coordinator's configuration: bearer tokens per
// role (several each, so they can be rotated) and client-certificate
// identities mapped to roles. No credential for a role = that role is open.

import { NAME_PATTERN } from '../domain/validate-start-saga.js';
import { ROLES, type Role } from './principal.js';

export interface MtlsMapping {
  /** A subject field or SAN of the client certificate: "CN=orders", "DNS:orders.internal", "URI:spiffe://…", "IP:10.0.0.7". */
  readonly identity: string;
  readonly role: Role;
  /** For role producer: the producer (registered participant) the certificate speaks for. */
  readonly producer?: string;
}

export interface AuthSettings {
  readonly tokens: {
    readonly client: readonly string[];
    readonly operator: readonly string[];
    /** Producer name -> its tokens. */
    readonly producer: Readonly<Record<string, readonly string[]>>;
  };
  /** Needs tls.clientCaFile (the server must ask for client certificates). */
  readonly mtls: readonly MtlsMapping[];
}

export const DEFAULT_AUTH_SETTINGS: AuthSettings = { tokens: { client: [], operator: [], producer: {} }, mtls: [] };

export interface SettingProblem {
  readonly setting: string;
  readonly problem: string;
}

type MutableAuth = { tokens: { client: unknown; operator: unknown; producer: unknown }; mtls: unknown };

/**
 * Environment over the file: SAGA_CLIENT_TOKENS, SAGA_OPERATOR_TOKENS ("t1,t2"),
 * SAGA_PRODUCER_TOKENS ("name:token,…", merged into the file's producers).
 */
export function applyAuthEnv(auth: MutableAuth, env: NodeJS.ProcessEnv): SettingProblem | undefined {
  if (env.SAGA_CLIENT_TOKENS !== undefined) auth.tokens.client = env.SAGA_CLIENT_TOKENS.split(',').map((t) => t.trim());
  if (env.SAGA_OPERATOR_TOKENS !== undefined) auth.tokens.operator = env.SAGA_OPERATOR_TOKENS.split(',').map((t) => t.trim());
  if (env.SAGA_PRODUCER_TOKENS !== undefined) {
    const producers: Record<string, string[]> = { ...(auth.tokens.producer as Record<string, string[]>) };
    for (const part of env.SAGA_PRODUCER_TOKENS.split(',').map((s) => s.trim())) {
      const colon = part.indexOf(':');
      if (colon <= 0) return { setting: 'SAGA_PRODUCER_TOKENS', problem: 'every entry must be producer:token (a token may not be empty)' };
      const name = part.slice(0, colon);
      producers[name] = [...(producers[name] ?? []), part.slice(colon + 1)];
    }
    auth.tokens.producer = producers;
  }
  return undefined;
}

/** Every problem names its setting; an empty token is one (it would open, or lock, everything). */
export function validateAuthSettings(
  auth: AuthSettings,
  legacyOperatorToken: unknown,
  clientCertificatesRequested: boolean,
): SettingProblem | undefined {
  if (legacyOperatorToken !== undefined && (typeof legacyOperatorToken !== 'string' || legacyOperatorToken === '')) {
    return { setting: 'operatorToken (SAGA_OPERATOR_TOKEN)', problem: 'must be a non-empty string; leave it unset for no operator token' };
  }
  if (typeof auth !== 'object' || auth === null || typeof auth.tokens !== 'object' || auth.tokens === null) {
    return { setting: 'auth.tokens', problem: 'must be an object { client, operator, producer }' };
  }
  const tokenList = (setting: string, list: unknown): SettingProblem | undefined => {
    if (!Array.isArray(list)) return { setting, problem: 'must be a list of tokens' };
    const i = list.findIndex((t) => typeof t !== 'string' || t === '');
    return i < 0 ? undefined : { setting: `${setting}[${i}]`, problem: 'must be a non-empty string (an empty token is refused)' };
  };
  const problem =
    tokenList('auth.tokens.client (SAGA_CLIENT_TOKENS)', auth.tokens.client) ??
    tokenList('auth.tokens.operator (SAGA_OPERATOR_TOKENS)', auth.tokens.operator);
  if (problem !== undefined) return problem;
  const producers = auth.tokens.producer;
  if (typeof producers !== 'object' || producers === null || Array.isArray(producers)) {
    return { setting: 'auth.tokens.producer', problem: 'must be an object { "<producer>": ["token", …] }' };
  }
  const owner = new Map<string, string>();
  for (const [name, list] of Object.entries(producers)) {
    const setting = `auth.tokens.producer.${name} (SAGA_PRODUCER_TOKENS)`;
    if (!NAME_PATTERN.test(name)) return { setting, problem: 'the key must be a producer (participant) name' };
    const p = tokenList(setting, list);
    if (p !== undefined) return p;
    for (const token of list) {
      const other = owner.get(token);
      if (other !== undefined && other !== name) return { setting, problem: `a token is also producer "${other}"'s; give each producer its own` };
      owner.set(token, name);
    }
  }
  if (!Array.isArray(auth.mtls)) return { setting: 'auth.mtls', problem: 'must be a list of { identity, role, producer? }' };
  for (const [i, m] of (auth.mtls as readonly (Partial<MtlsMapping> | null)[]).entries()) {
    const setting = `auth.mtls[${i}]`;
    if (typeof m?.identity !== 'string' || m.identity === '') return { setting: `${setting}.identity`, problem: 'must be a non-empty string, e.g. "CN=orders" or "DNS:orders.internal"' };
    if (!ROLES.includes(m.role as Role)) return { setting: `${setting}.role`, problem: `must be one of ${ROLES.join(', ')}` };
    if (m.role === 'producer' && (typeof m.producer !== 'string' || !NAME_PATTERN.test(m.producer))) {
      return { setting: `${setting}.producer`, problem: 'is required for role producer: the producer (participant) name' };
    }
    if (m.role !== 'producer' && m.producer !== undefined) return { setting: `${setting}.producer`, problem: 'is only for role producer' };
  }
  if (auth.mtls.length > 0 && !clientCertificatesRequested) {
    return { setting: 'auth.mtls', problem: 'needs tls.clientCaFile, so that clients present certificates' };
  }
  return undefined;
}

/** The settings with the legacy single operator token (operatorToken, SAGA_OPERATOR_TOKEN) folded in. */
export function effectiveAuthSettings(auth: AuthSettings, legacyOperatorToken: string | undefined): AuthSettings {
  if (legacyOperatorToken === undefined) return auth;
  return { ...auth, tokens: { ...auth.tokens, operator: [...auth.tokens.operator, legacyOperatorToken] } };
}
