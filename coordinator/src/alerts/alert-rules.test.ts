// The alert rules and the compensation window as pure functions, at their
// thresholds' edges.

import { describe, expect, it } from 'vitest';
import { compensationSuccessRate, manualBacklog, slowCompensation } from './alert-rules.js';
import { CompensationWindow } from './compensation-window.js';

describe('alert rules', () => {
  const rate = { threshold: 0.9, windowMs: 3_600_000, minCompensations: 1 };

  it('compensation success rate fires strictly below the threshold, and not without data', () => {
    expect(compensationSuccessRate({ succeeded: 0, failed: 0 }, rate).active).toBe(false);
    expect(compensationSuccessRate({ succeeded: 9, failed: 1 }, rate)).toMatchObject({ active: false, value: 0.9 });
    expect(compensationSuccessRate({ succeeded: 18, failed: 2 }, rate).active).toBe(false);
    expect(compensationSuccessRate({ succeeded: 8, failed: 1 }, rate).active).toBe(true);
    expect(compensationSuccessRate({ succeeded: 17, failed: 2 }, rate)).toMatchObject({ active: true, threshold: 0.9 });
    expect(compensationSuccessRate({ succeeded: 0, failed: 1 }, { ...rate, minCompensations: 5 }).active).toBe(false);
  });

  it('MANUAL backlog fires above the threshold', () => {
    expect(manualBacklog(10, { threshold: 10 }).active).toBe(false);
    expect(manualBacklog(11, { threshold: 10 })).toMatchObject({ active: true, value: 11, threshold: 10 });
  });

  it('slow compensation fires past the threshold and names the oldest', () => {
    const now = 1_000_000;
    const list = [
      { sagaId: 'a', sagaName: 'x', since: now - 1000 },
      { sagaId: 'b', sagaName: 'x', since: now - 400_000 },
    ];
    expect(slowCompensation(list.slice(0, 1), now, { thresholdMs: 300_000 }).active).toBe(false);
    expect(slowCompensation(list, now, { thresholdMs: 300_000 })).toMatchObject({ active: true, value: 400_000, subjectId: 'b' });
    expect(slowCompensation([], now, { thresholdMs: 300_000 })).toMatchObject({ active: false, subjectId: '' });
  });
});

describe('CompensationWindow', () => {
  it('counts what finished within the window, to the bucket', () => {
    const w = new CompensationWindow(60_000);
    w.record(0, false);
    w.record(30_000, true);
    w.record(59_000, true);
    expect(w.counts(59_999)).toEqual({ succeeded: 2, failed: 1 });
    expect(w.counts(61_000)).toEqual({ succeeded: 2, failed: 0 });
    expect(w.counts(200_000)).toEqual({ succeeded: 0, failed: 0 });
  });
});
