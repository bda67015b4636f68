// Parses `saga list` filters: --state names and --since (a duration back from
// now, or an ISO 8601 instant).

import type { SagaState } from '@saga/sdk';
import { UsageError } from './cli-errors.js';

const STATES: readonly SagaState[] = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--state RUNNING,manual` (repeatable) → states; case-insensitive. */
export function parseStates(values: readonly string[]): SagaState[] {
  const out: SagaState[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const name = raw.trim().toUpperCase();
    if (name === '') continue;
    if (!(STATES as readonly string[]).includes(name)) throw new UsageError(`--state: unknown state "${raw.trim()}" (one of ${STATES.join(', ')})`);
    out.push(name as SagaState);
  }
  return out;
}

/** `--since 15m` (ms, s, m, h, d back from `now`) or `--since 2026-01-31T12:00:00Z`. */
export function parseSince(value: string, now: Date): Date {
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (duration !== null) return new Date(now.getTime() - Number(duration[1]) * (UNIT_MS[duration[2] ?? ''] ?? 0));
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = new Date(value);
    if (Number.isFinite(at.getTime())) return at;
  }
  throw new UsageError(`--since: "${value}" is neither a duration (30s, 15m, 2h, 7d) nor an ISO 8601 instant`);
}
