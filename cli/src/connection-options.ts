// The global connection flags (--address, --token / SAGA_TOKEN, --tls-*,
// --timeout) turned into what the SDK's clients take.

import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { UsageError } from './cli-errors.js';

/** The global flags as commander parses them. */
export interface GlobalFlags {
  address: string;
  token?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  timeout: string;
  json?: boolean;
}

export interface ConnectionSettings {
  readonly address: string;
  readonly credentials: ChannelCredentials;
  readonly callMetadata: Readonly<Record<string, string>>;
  readonly deadlineMs: number;
}

export function connectionSettings(flags: GlobalFlags): ConnectionSettings {
  const deadlineMs = positiveInteger('--timeout', flags.timeout);
  if (flags.address.trim() === '') throw new UsageError('--address: must be host:port');
  const token = flags.token;
  if (token !== undefined && token === '') throw new UsageError('--token: must not be empty (unset SAGA_TOKEN to send none)');
  return {
    address: flags.address,
    credentials: channelCredentials(flags),
    callMetadata: token === undefined ? {} : { authorization: `Bearer ${token}` },
    deadlineMs,
  };
}

function channelCredentials(flags: GlobalFlags): ChannelCredentials {
  const { tlsCa, tlsCert, tlsKey } = flags;
  if (tlsCa === undefined && tlsCert === undefined && tlsKey === undefined) return credentials.createInsecure();
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key: give both or neither');
  return credentials.createSsl(
    tlsCa === undefined ? null : readFlagFile('--tls-ca', tlsCa),
    tlsKey === undefined ? null : readFlagFile('--tls-key', tlsKey),
    tlsCert === undefined ? null : readFlagFile('--tls-cert', tlsCert),
  );
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** Parses a flag that must be a whole number > 0. */
export function positiveInteger(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag}: must be a whole number > 0, got "${value}"`);
  return n;
}
