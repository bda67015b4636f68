// The identities of a verified client certificate, in the forms the auth.mtls
// mappings use: "CN=<subject common name>" and each SAN as "DNS:…", "URI:…",
// "IP:…", "email:…".

import type { PeerCertificate } from 'node:tls';

/** `context` is what grpc-js's call.getAuthContext() returns. */
export function peerIdentities(context: { readonly sslPeerCertificate?: PeerCertificate } | null): string[] {
  const cert = context?.sslPeerCertificate;
  if (cert === undefined) return [];
  const out: string[] = [];
  const cn: unknown = cert.subject?.CN;
  for (const name of Array.isArray(cn) ? cn : [cn]) if (typeof name === 'string' && name !== '') out.push(`CN=${name}`);
  for (const san of (cert.subjectaltname ?? '').split(', ')) {
    if (san === '') continue;
    // Node writes IP SANs as "IP Address:10.0.0.7".
    out.push(san.startsWith('IP Address:') ? `IP:${san.slice('IP Address:'.length)}` : san);
  }
  return out;
}
