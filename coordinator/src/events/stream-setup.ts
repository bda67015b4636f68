// Creates the events stream, or brings an existing one to the configured
// limits and subjects, each time the coordinator connects (the server may have
// lost it). Retention and storage cannot change on a live stream: a mismatch
// is logged and the existing stream is used as it is.

import { JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { Logger } from 'pino';

export interface StreamSettings {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly retention: 'limits' | 'interest' | 'workqueue';
  readonly storage: 'file' | 'memory';
  readonly replicas: number;
  /** 0 = unlimited. */
  readonly maxAgeMs: number;
  /** 0 = unlimited. */
  readonly maxMsgs: number;
  /** 0 = unlimited. */
  readonly maxBytes: number;
  readonly duplicateWindowMs: number;
}

const NANOS_PER_MS = 1_000_000;

/**
 * The stream's subjects: the coordinator's own (<prefix>.events.>, .steps.>,
 * .alerts.>) plus the configured extra ones (e.g. transactional messages'),
 * leaving out own subjects an extra wildcard already covers (JetStream
 * refuses overlapping subjects).
 */
export function streamSubjects(prefix: string, extra: readonly string[]): string[] {
  const own = [`${prefix}.events.>`, `${prefix}.steps.>`, `${prefix}.alerts.>`];
  const unique = [...new Set(extra)];
  return [...unique, ...own.filter((o) => !unique.some((e) => covers(e, o)))];
}

/** Whether every subject matching `b` also matches the pattern `a`. */
function covers(a: string, b: string): boolean {
  const at = a.split('.');
  const bt = b.split('.');
  for (let i = 0; i < at.length; i++) {
    const t = at[i];
    if (t === '>') return i < bt.length;
    const u = bt[i];
    if (u === undefined || u === '>' || (t !== '*' && t !== u)) return false;
  }
  return at.length === bt.length;
}

export async function ensureStream(jsm: JetStreamManager, s: StreamSettings, log: Logger): Promise<'created' | 'updated' | 'unchanged'> {
  const limits = {
    subjects: [...s.subjects],
    num_replicas: s.replicas,
    max_age: s.maxAgeMs * NANOS_PER_MS,
    max_msgs: s.maxMsgs === 0 ? -1 : s.maxMsgs,
    max_bytes: s.maxBytes === 0 ? -1 : s.maxBytes,
    duplicate_window: s.duplicateWindowMs * NANOS_PER_MS,
  };
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(s.name)).config;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    await jsm.streams.add({
      name: s.name,
      retention: s.retention === 'limits' ? RetentionPolicy.Limits : s.retention === 'interest' ? RetentionPolicy.Interest : RetentionPolicy.Workqueue,
      storage: s.storage === 'file' ? StorageType.File : StorageType.Memory,
      ...limits,
    });
    log.info({ stream: s.name, subjects: s.subjects }, 'created events stream');
    return 'created';
  }
  if (existing.retention !== s.retention || existing.storage !== s.storage) {
    log.warn(
      { stream: s.name, retention: existing.retention, storage: existing.storage, wanted: { retention: s.retention, storage: s.storage } },
      'events stream exists with another retention or storage, which cannot change; using it as it is',
    );
  }
  const same =
    sameSet(existing.subjects ?? [], limits.subjects) &&
    existing.num_replicas === limits.num_replicas &&
    existing.max_age === limits.max_age &&
    existing.max_msgs === limits.max_msgs &&
    existing.max_bytes === limits.max_bytes &&
    existing.duplicate_window === limits.duplicate_window;
  if (same) return 'unchanged';
  await jsm.streams.update(s.name, limits);
  log.info({ stream: s.name, subjects: s.subjects }, 'updated events stream');
  return 'updated';
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
