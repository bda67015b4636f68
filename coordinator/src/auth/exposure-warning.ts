// The one start-up warning for a coordinator reachable beyond this machine
// without TLS, or with roles anyone may use.

import { isIP } from 'node:net';
import type { Role } from './principal.js';

export function exposureWarning(listen: string, tls: boolean, openRoles: ReadonlySet<Role>): string | undefined {
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  if (isLoopback(host)) return undefined;
  const problems: string[] = [];
  if (!tls) problems.push('without TLS (tokens and payloads cross the network in clear)');
  if (openRoles.size > 0) problems.push(`with no credential configured for the ${[...openRoles].join(', ')} role(s), which any caller may then use`);
  if (problems.length === 0) return undefined;
  return `listening on ${listen}, reachable from other machines, ${problems.join(' and ')}: configure tls and auth.tokens (see the README, Authorization)`;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}
