// Backoff: capped exponential with full jitter, and the reconnect pause with its floor.

import { describe, expect, it } from 'vitest';
import { backoffDelayMs, reconnectDelayMs } from './backoff.js';

const policy = { initialBackoffMs: 100, maxBackoffMs: 1_000, backoffMultiplier: 2 };
const almostOne = (): number => 0.999_999;

describe('backoff', () => {
  it('doubles up to the cap, drawing uniformly below it', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(policy, n, almostOne))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelayMs(policy, 3, () => 0.5)).toBe(200);
    expect(backoffDelayMs(policy, 3, () => 0)).toBe(0);
  });

  it('pauses at least 10 ms before a reconnect, doubling from the initial pause', () => {
    const bounds = { initialBackoffMs: 100, maxBackoffMs: 1_000 };
    expect(reconnectDelayMs(bounds, 1, () => 0)).toBe(10);
    expect([1, 2, 3, 4, 5].map((n) => reconnectDelayMs(bounds, n, almostOne))).toEqual([99, 199, 399, 799, 999]);
  });
});
