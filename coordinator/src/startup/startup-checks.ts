// Checks of what the configuration points at, made before the store is opened
// and recovery starts, so that a mistake ends in one line naming the setting
// (exit 2) instead of a stack trace after "recovery done": TLS files that are
// missing or unreadable, a key that does not match its certificate, a listen
// address already in use.

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { CoordinatorConfig } from '../config/config.js';

export class StartupError extends Error {
  constructor(setting: string, problem: string) {
    super(`cannot start: ${setting}: ${problem}`);
    this.name = 'StartupError';
  }
}

export async function checkStartup(config: CoordinatorConfig): Promise<void> {
  if (config.tls !== undefined) {
    const cert = readPem('tls.certFile', config.tls.certFile);
    const key = readPem('tls.keyFile', config.tls.keyFile);
    checkKeyPair('tls', cert, key);
    if (config.tls.clientCaFile !== undefined) parseCertificate('tls.clientCaFile', readPem('tls.clientCaFile', config.tls.clientCaFile));
  }
  for (const [name, ep] of Object.entries(config.participants)) {
    const tls = ep.tls;
    if (tls === undefined) continue;
    const setting = `participants.${name}.tls`;
    if (tls.caFile !== undefined) parseCertificate(`${setting}.caFile`, readPem(`${setting}.caFile`, tls.caFile));
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) throw new StartupError(setting, 'certFile and keyFile go together');
    if (tls.certFile !== undefined && tls.keyFile !== undefined) {
      checkKeyPair(setting, readPem(`${setting}.certFile`, tls.certFile), readPem(`${setting}.keyFile`, tls.keyFile));
    }
  }
  await checkPortFree('listen', config.listen);
  if (config.metrics.listen !== '') await checkPortFree('metrics.listen', config.metrics.listen);
}

function readPem(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permission denied)' : (err as Error).message;
    throw new StartupError(setting, `cannot read "${file}": ${why}`);
  }
}

function parseCertificate(setting: string, pem: Buffer): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new StartupError(setting, 'is not a PEM certificate');
  }
}

function checkKeyPair(setting: string, certPem: Buffer, keyPem: Buffer): void {
  const cert = parseCertificate(`${setting}.certFile`, certPem);
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new StartupError(`${setting}.keyFile`, 'is not a PEM private key (unencrypted)');
  }
  if (!cert.checkPrivateKey(key)) throw new StartupError(`${setting}.keyFile`, `does not match the certificate of ${setting}.certFile`);
}

/** Binds and releases the address; port 0 (ephemeral) always binds. */
function checkPortFree(setting: string, address: string): Promise<void> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(colon + 1));
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'is already in use by another process'
          : err.code === 'EACCES'
            ? 'may not be bound by this user'
            : err.code === 'EADDRNOTAVAIL'
              ? 'is not an address of this machine'
              : `cannot be bound (${err.code ?? err.message})`;
      reject(new StartupError(setting, `${address} ${why}`));
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
