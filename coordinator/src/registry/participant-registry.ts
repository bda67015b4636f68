// Participants are named, not addressed: the coordinator dials only what its
// operator registered (no SSRF through saga definitions). Raw addresses are
// accepted only when they match the operator's allowlist.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { ParticipantCheck } from '../domain/validate-start-saga.js';
import { NAME_PATTERN } from '../domain/validate-start-saga.js';

export interface ParticipantTls {
  /** PEM file of the CA that signs the participant's certificate. */
  readonly caFile?: string;
  /** Client certificate and key for mTLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface ParticipantEndpoint {
  /** host:port */
  readonly address: string;
  /** Absent = plaintext (loopback / service mesh). */
  readonly tls?: ParticipantTls;
}

export interface ResolvedParticipant {
  readonly name: string;
  readonly address: string;
  readonly credentials: ChannelCredentials;
}

export class ParticipantRegistry {
  private readonly endpoints: Map<string, ResolvedParticipant>;

  constructor(
    participants: Readonly<Record<string, ParticipantEndpoint>>,
    /** host:port patterns; "*" as the port or host matches any. */
    private readonly rawAddressAllowlist: readonly string[] = [],
  ) {
    this.endpoints = new Map(
      Object.entries(participants).map(([name, ep]) => {
        if (!NAME_PATTERN.test(name)) throw new Error(`participants: "${name}" is not a valid participant name`);
        if (!isAddress(ep.address)) throw new Error(`participants.${name}.address: "${ep.address}" is not host:port`);
        return [name, { name, address: ep.address, credentials: channelCredentials(ep.tls) }];
      }),
    );
  }

  names(): string[] {
    return [...this.endpoints.keys()];
  }

  check(name: string): ParticipantCheck {
    if (this.endpoints.has(name)) return 'registered';
    if (!isAddress(name)) return 'unknown';
    return this.rawAddressAllowlist.some((p) => matches(p, name)) ? 'raw-address-allowed' : 'raw-address-refused';
  }

  /** The endpoint of a registered name or of an allowlisted raw address. */
  resolve(name: string): ResolvedParticipant | undefined {
    const ep = this.endpoints.get(name);
    if (ep !== undefined) return ep;
    if (this.check(name) === 'raw-address-allowed') return { name, address: name, credentials: credentials.createInsecure() };
    return undefined;
  }
}

// host:port only: a DNS name or an IP literal ([…] for IPv6) and a port. Nothing
// else is dialled: no scheme ("unix:", "dns:///"), no path, no user info.
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

function isAddress(value: string): boolean {
  const m = HOST_PORT.exec(value);
  if (m === null) return false;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6;
  // A dotted all-digit host must be a valid IPv4 literal (no "999.1.1.1").
  return /^[0-9.]+$/.test(host) ? isIP(host) === 4 : !host.includes('..');
}

function matches(pattern: string, address: string): boolean {
  const [ph, pp] = splitHostPort(pattern);
  const [ah, ap] = splitHostPort(address);
  return (ph === '*' || ph === ah) && (pp === '*' || pp === ap);
}

function splitHostPort(value: string): [string, string] {
  const i = value.lastIndexOf(':');
  return i < 0 ? [value, ''] : [value.slice(0, i), value.slice(i + 1)];
}

function channelCredentials(tls: ParticipantTls | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  const read = (f: string | undefined): Buffer | null => (f === undefined ? null : readFileSync(f));
  return credentials.createSsl(read(tls.caFile), read(tls.keyFile), read(tls.certFile));
}
