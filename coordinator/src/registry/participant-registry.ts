// Participants are named, not addressed: the coordinator dials only what its
// operator registered (no SSRF through saga definitions). Raw addresses are
// accepted only when they match the operator's allowlist.

import { readFileSync } from 'node:fs';
import type { ParticipantCheck } from '../domain/validate-start-saga.js';
import { NAME_PATTERN } from '../domain/validate-start-saga.js';
import type { TransportTls } from '../grpc/participant-transport.js';

export interface ParticipantTls {
  /** PEM file of the CA that signs the participant's certificate. */
  readonly caFile?: string;
  /** Client certificate and key for mTLS. */
  readonly certFile?: string;
  readonly keyFile?: string;
  /** Name checked against the participant's certificate; default the address's host. */
  readonly serverName?: string;
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
  /** Absent = plaintext. */
  readonly tls?: TransportTls;
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
        return [name, { name, address: ep.address, ...(ep.tls !== undefined ? { tls: loadTls(ep.tls) } : {}) }];
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
    if (this.check(name) === 'raw-address-allowed') return { name, address: name };
    return undefined;
  }
}

function isAddress(value: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value) || value.includes('/');
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

function loadTls(tls: ParticipantTls): TransportTls {
  const read = (f: string | undefined): Buffer | undefined => (f === undefined ? undefined : readFileSync(f));
  return { ca: read(tls.caFile), cert: read(tls.certFile), key: read(tls.keyFile), serverName: tls.serverName };
}
