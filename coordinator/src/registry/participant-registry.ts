// Participants are named, not addressed: the coordinator dials only what its
// operator registered (no SSRF through saga definitions). Raw addresses are
// accepted only when they match the operator's allowlist.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
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
        if (!isDialTarget(ep.address)) throw new Error(`participants.${name}.address: "${ep.address}" is not host:port`);
        return [name, { name, address: ep.address, ...(ep.tls !== undefined ? { tls: loadTls(ep.tls) } : {}) }];
      }),
    );
  }

  names(): string[] {
    return [...this.endpoints.keys()];
  }

  check(name: string): ParticipantCheck {
    if (this.endpoints.has(name)) return 'registered';
    if (isHostPort(name)) return this.rawAddressAllowlist.some((p) => matches(p, name)) ? 'raw-address-allowed' : 'raw-address-refused';
    // Any other dial target (unix:, dns:, a path) in a definition is refused, allowlist or not.
    return isDialTarget(name) ? 'raw-address-refused' : 'unknown';
  }

  /** The endpoint of a registered name or of an allowlisted raw address. */
  resolve(name: string): ResolvedParticipant | undefined {
    const ep = this.endpoints.get(name);
    if (ep !== undefined) return ep;
    if (this.check(name) === 'raw-address-allowed') return { name, address: name };
    return undefined;
  }
}

// A raw address in a definition is host:port only: a DNS name or an IP literal
// ([…] for IPv6) and a port. Nothing else is dialled from a definition: no
// scheme ("unix:", "dns:///"), no path, no user info.
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?):(\d{1,5})$/;

function isHostPort(value: string): boolean {
  const m = HOST_PORT.exec(value);
  if (m === null) return false;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return false;
  if (host.startsWith('[')) return isIP(host.slice(1, -1)) === 6;
  // A dotted all-digit host must be a valid IPv4 literal (no "999.1.1.1").
  return /^[0-9.]+$/.test(host) ? isIP(host) === 4 : !host.includes('..');
}

/** What the operator may register: host:port, or a target the transport dials (dns:…, unix:/path). */
function isDialTarget(value: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value) || /^(dns|unix|unix-abstract|ipv4|ipv6):/.test(value) || value.includes('/');
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
