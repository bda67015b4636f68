// The fencing check of the multi-coordinator tests, over a recording
// participant's record: every effect was made by a call of the newest epoch
// the participant had seen for that saga so far, i.e. no stale owner's call
// produced an effect after a newer epoch began.

import type { Application, Arrival } from './recording-participant.js';

/** The violations (empty = none). */
export function staleEffects(arrivals: readonly Arrival[], applications: readonly Application[]): string[] {
  const newest = new Map<string, number>();
  const violations: string[] = [];
  const applied = new Map<number, string>(applications.map((a) => [a.arrival.index, a.key]));
  for (const a of arrivals) {
    const seen = newest.get(a.sagaId) ?? 0;
    const key = applied.get(a.index);
    if (key !== undefined && a.epoch < seen) violations.push(`${key} applied by epoch ${a.epoch} after epoch ${seen} began`);
    if (a.epoch > seen) newest.set(a.sagaId, a.epoch);
  }
  return violations;
}
