// A throw-away CA with server and client certificates, made with openssl, for
// TLS and mTLS tests.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCa {
  readonly caFile: string;
  readonly caKeyFile: string;
  /** A certificate signed by the CA, with subject CN=`cn` and the given subjectAltName ("DNS:a,IP:127.0.0.1"). */
  issue(name: string, cn: string, san: string): Issued;
}

export function createTestCa(dir: string): TestCa {
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca.key');
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKeyFile, '-out', caFile, '-days', '2', '-subj', '/CN=saga-test-ca']);
  return {
    caFile,
    caKeyFile,
    issue: (name, cn, san) => {
      const keyFile = join(dir, `${name}.key`);
      const csr = join(dir, `${name}.csr`);
      const certFile = join(dir, `${name}.pem`);
      const ext = join(dir, `${name}.ext`);
      writeFileSync(ext, `subjectAltName=${san}\n`);
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKeyFile, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
      return { certFile, keyFile };
    },
  };
}
