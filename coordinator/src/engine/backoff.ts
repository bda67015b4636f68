// Capped exponential backoff with full jitter (AWS architecture blog's
// "full jitter"): spreads retries of many sagas so they do not arrive together.

import type { RetryPolicy } from '../domain/saga-types.js';

/**
 * Delay before the attempt after `attempt` (1-based) failed: uniform in
 * [0, min(maxBackoffMs, initialBackoffMs * multiplier^(attempt-1))].
 * `random` returns a number in [0, 1).
 */
export function backoffDelayMs(
  policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs' | 'backoffMultiplier'>,
  attempt: number,
  random: () => number,
): number {
  const exponent = Math.max(0, attempt - 1);
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * Math.pow(policy.backoffMultiplier, exponent));
  return Math.floor(random() * cap);
}

/**
 * Pause before trying a connection or a publish again after `failures`
 * failures in a row: doubling from initialBackoffMs up to maxBackoffMs, full
 * jitter, and at least 10 ms — full jitter may draw ~0, and a dead server
 * must not be hammered.
 */
export function reconnectDelayMs(
  bounds: { readonly initialBackoffMs: number; readonly maxBackoffMs: number },
  failures: number,
  random: () => number,
): number {
  return Math.max(10, backoffDelayMs({ ...bounds, backoffMultiplier: 2 }, failures, random));
}
