// Capped exponential backoff with full jitter (AWS architecture blog's
// "full jitter"): spreads retries of many sagas so they do not arrive together.

import type { RetryPolicy } from '../domain/saga-types.js';

/**
 * Delay before the attempt after `attempt` (1-based) failed: uniform in
 * [0, min(maxBackoffMs, initialBackoffMs * multiplier^(attempt-1))].
 * `random` returns a number in [0, 1).
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const exponent = Math.max(0, attempt - 1);
  const cap = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * Math.pow(policy.backoffMultiplier, exponent));
  return Math.floor(random() * cap);
}
