// Parses list filters: --state names (of sagas or of messages) and instants
// (--since, --until: a duration back from now, or an ISO 8601 instant); and
// the flags of `saga messages list` into the SDK's filter.

import type { SagaState, TxMessageListFilter, TxMessageState } from '@saga/sdk';
import { UsageError } from './cli-errors.js';

const SAGA_STATES: readonly SagaState[] = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];
const MESSAGE_STATES: readonly TxMessageState[] = ['PREPARED', 'COMMITTED', 'ROLLED_BACK', 'DISCARDED'];
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--state RUNNING,manual` (repeatable) → saga states; case-insensitive. */
export function parseStates(values: readonly string[]): SagaState[] {
  return oneOfEach(values, SAGA_STATES);
}

/** `--state prepared,COMMITTED` (repeatable) → message states; case-insensitive. */
export function parseMessageStates(values: readonly string[]): TxMessageState[] {
  return oneOfEach(values, MESSAGE_STATES);
}

function oneOfEach<T extends string>(values: readonly string[], allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const name = raw.trim().toUpperCase();
    if (name === '') continue;
    const found = allowed.find((a) => a === name);
    if (found === undefined) throw new UsageError(`--state: unknown state "${raw.trim()}" (one of ${allowed.join(', ')})`);
    out.push(found);
  }
  return out;
}

/** An instant flag: a duration back from `now` (`--since 15m`: ms, s, m, h, d) or an ISO 8601 instant. */
export function parseInstant(flag: string, value: string, now: Date): Date {
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (duration !== null) return new Date(now.getTime() - Number(duration[1]) * (UNIT_MS[duration[2] ?? ''] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = new Date(value);
    if (Number.isFinite(at.getTime())) return at;
  }
  throw new UsageError(`${flag}: "${value}" is neither a duration (30s, 15m, 2h, 7d) nor an ISO 8601 instant`);
}

/** The flags of `saga messages list` as commander parses them. */
export interface MessageListFlags {
  readonly state: readonly string[];
  readonly subject?: string;
  readonly key?: string;
  readonly producer?: string;
  readonly since?: string;
  readonly until?: string;
}

export function messageListFilter(flags: MessageListFlags, now: Date): TxMessageListFilter {
  const createdAfter = flags.since === undefined ? undefined : parseInstant('--since', flags.since, now);
  const createdBefore = flags.until === undefined ? undefined : parseInstant('--until', flags.until, now);
  if (createdAfter !== undefined && createdBefore !== undefined && createdBefore <= createdAfter) {
    throw new UsageError('--until: must be later than --since');
  }
  return { states: parseMessageStates(flags.state), subject: flags.subject, key: flags.key, producer: flags.producer, createdAfter, createdBefore };
}
