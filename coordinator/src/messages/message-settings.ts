// The `messages` section of the coordinator's configuration: the check policy
// a PrepareMessage gets when it leaves a field at 0, the bounds a request must
// stay within, and the service's own capacity and retention.

import type { CheckPolicy } from './message-types.js';
import { isSubjectPattern } from './subject-pattern.js';

export interface MessageLimits {
  /** Lowest check_after_ms / check_interval_ms a request may ask for. Default 100. */
  readonly minCheckIntervalMs: number;
  /** Highest check_after_ms / check_interval_ms. Default 1 day. */
  readonly maxCheckIntervalMs: number;
  /** Highest max_checks. Default 1000. */
  readonly maxChecks: number;
  /** Highest check_timeout_ms. Default 60 s. */
  readonly maxCheckTimeoutMs: number;
  /** Bytes of a message payload. Default 1 MiB. */
  readonly maxPayloadBytes: number;
  /** Bytes of the business key. Default 512. */
  readonly maxKeyBytes: number;
  /** Headers per message. Default 64. */
  readonly maxHeaders: number;
  /** Bytes of one header name or value. Default 4096. */
  readonly maxHeaderBytes: number;
  /** How far in the future deliver_at may be. Default 30 days. */
  readonly maxDeliveryDelayMs: number;
}

export interface MessageSettings {
  /**
   * Subjects (NATS wildcards allowed) messages may be published to; others are
   * refused at PrepareMessage. Each must be captured by a JetStream stream, or
   * its deliveries wait in the outbox. Empty (default) = the subjects of
   * nats.stream.subjects outside the coordinator's own prefix.
   */
  readonly subjects: readonly string[];
  /** Applied to every check-policy field a request leaves at 0. */
  readonly defaultCheckPolicy: CheckPolicy;
  readonly limits: MessageLimits;
  /** PREPARED messages at most; beyond it PrepareMessage answers RESOURCE_EXHAUSTED. Default 100,000. */
  readonly maxPrepared: number;
  /** CheckTransaction calls in flight at most (a restart may find many overdue). Default 64. */
  readonly maxConcurrentChecks: number;
  /** Decided messages (delivered, rolled back, discarded) are deleted this long after their decision. Default 7 days. */
  readonly retentionMs: number;
}

/** The first problem found, naming the setting; undefined when valid. */
export function validateMessageSettings(
  m: MessageSettings,
  maxReceivePayloadBytes: number,
): { setting: string; problem: string } | undefined {
  const positive = (setting: string, v: unknown): { setting: string; problem: string } | undefined =>
    typeof v === 'number' && Number.isInteger(v) && v >= 1 ? undefined : { setting, problem: `must be a positive integer, not ${JSON.stringify(v)}` };
  if (typeof m !== 'object' || m === null) return { setting: 'messages', problem: 'must be an object' };
  const checks: (readonly [string, unknown])[] = [
    ...Object.entries(m.defaultCheckPolicy ?? {}).map(([k, v]) => [`messages.defaultCheckPolicy.${k}`, v] as const),
    ...Object.entries(m.limits ?? {}).map(([k, v]) => [`messages.limits.${k}`, v] as const),
    ['messages.maxPrepared', m.maxPrepared],
    ['messages.maxConcurrentChecks', m.maxConcurrentChecks],
    ['messages.retentionMs', m.retentionMs],
  ];
  for (const [setting, v] of checks) {
    const problem = positive(setting, v);
    if (problem !== undefined) return problem;
  }
  const subjects: unknown = m.subjects;
  if (!Array.isArray(subjects) || subjects.some((s: unknown) => typeof s !== 'string' || !isSubjectPattern(s))) {
    return { setting: 'messages.subjects', problem: 'must be a list of NATS subjects (wildcards allowed)' };
  }
  const p = m.defaultCheckPolicy;
  const l = m.limits;
  if (l.minCheckIntervalMs > l.maxCheckIntervalMs) {
    return { setting: 'messages.limits.minCheckIntervalMs', problem: 'must not exceed maxCheckIntervalMs' };
  }
  for (const k of ['checkAfterMs', 'checkIntervalMs'] as const) {
    if (p[k] < l.minCheckIntervalMs || p[k] > l.maxCheckIntervalMs) {
      return { setting: `messages.defaultCheckPolicy.${k}`, problem: `must be within limits.minCheckIntervalMs..maxCheckIntervalMs (${l.minCheckIntervalMs}..${l.maxCheckIntervalMs})` };
    }
  }
  if (p.maxChecks > l.maxChecks) return { setting: 'messages.defaultCheckPolicy.maxChecks', problem: `must not exceed limits.maxChecks (${l.maxChecks})` };
  if (p.checkTimeoutMs > l.maxCheckTimeoutMs) {
    return { setting: 'messages.defaultCheckPolicy.checkTimeoutMs', problem: `must not exceed limits.maxCheckTimeoutMs (${l.maxCheckTimeoutMs})` };
  }
  // A larger payload would be cut by the gRPC transport with a less helpful error.
  if (l.maxPayloadBytes > maxReceivePayloadBytes) {
    return { setting: 'messages.limits.maxPayloadBytes', problem: `must not exceed limits.maxTotalPayloadBytes (${maxReceivePayloadBytes})` };
  }
  return undefined;
}

/**
 * The subjects messages may use: `messages.subjects`, or else those of the
 * coordinator's stream outside its own prefix (a delivery no stream captures
 * would wait in the outbox, holding up the relay).
 */
export function allowedMessageSubjects(m: MessageSettings, streamSubjects: readonly string[], subjectPrefix: string): string[] {
  if (m.subjects.length > 0) return [...m.subjects];
  // Patterns under the prefix carry the coordinator's events; a message there is refused anyway.
  return streamSubjects.filter((s) => !s.startsWith(`${subjectPrefix}.`));
}
