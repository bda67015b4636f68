// The curve's --repeat: which of a step's runs stands for it.

import { describe, expect, it } from 'vitest';
import type { ThroughputRun } from './measure-throughput.js';
import { medianByP99 } from './scenario-curve.js';

const run = (p99: number): ThroughputRun => ({ params: {}, results: { latencyMs: { p99 } } }) as unknown as ThroughputRun;

describe('medianByP99', () => {
  it.each([
    [[56.6], 56.6],
    [[74.8, 56.6, 58.6], 58.6],
    [[60.4, 69.8], 60.4],
    [[90, 10, 50, 30], 30],
  ])('of p99s %j picks the run with %d', (p99s, want) => {
    expect(medianByP99(p99s.map(run)).results.latencyMs.p99).toBe(want);
  });

  it('refuses no runs', () => {
    expect(() => medianByP99([])).toThrow(/no runs/);
  });
});
