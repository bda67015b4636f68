// The source material's alert rules as pure functions of measurements: each
// says whether its condition holds now, with the measured value and the
// threshold. Firing and clearing (once per change) is the monitor's job.

import { AlertKind } from '@saga/proto';

/** Kinds as they appear in subjects (<prefix>.alerts.<kind>), metric labels and logs. */
export type AlertKindName = 'compensation_success_rate' | 'manual_backlog' | 'slow_compensation';

export const ALERT_KIND_PROTO: Readonly<Record<AlertKindName, AlertKind>> = {
  compensation_success_rate: AlertKind.ALERT_KIND_COMPENSATION_SUCCESS_RATE,
  manual_backlog: AlertKind.ALERT_KIND_MANUAL_BACKLOG,
  slow_compensation: AlertKind.ALERT_KIND_SLOW_COMPENSATION,
};

export interface AlertReading {
  readonly kind: AlertKindName;
  /** The condition holds now. */
  readonly active: boolean;
  /** Rate in 0..1, count, or milliseconds. */
  readonly value: number;
  readonly threshold: number;
  readonly message: string;
  /** The saga concerned, when the alert is about one. */
  readonly subjectId: string;
}

/** Fires while successes / finished compensations over the window is below the threshold. */
export function compensationSuccessRate(
  counts: { succeeded: number; failed: number },
  rule: { threshold: number; windowMs: number; minCompensations: number },
): AlertReading {
  const total = counts.succeeded + counts.failed;
  const rate = total === 0 ? 1 : counts.succeeded / total;
  const active = total >= rule.minCompensations && rate < rule.threshold;
  return {
    kind: 'compensation_success_rate',
    active,
    value: rate,
    threshold: rule.threshold,
    message: `compensation success rate ${(rate * 100).toFixed(1)} % over the last ${Math.round(rule.windowMs / 60_000)} min (${counts.succeeded} of ${total}); threshold ${(rule.threshold * 100).toFixed(1)} %`,
    subjectId: '',
  };
}

/** Fires while more sagas than the threshold wait in MANUAL. */
export function manualBacklog(manual: number, rule: { threshold: number }): AlertReading {
  return {
    kind: 'manual_backlog',
    active: manual > rule.threshold,
    value: manual,
    threshold: rule.threshold,
    message: `${manual} sagas wait in MANUAL for an operator; threshold ${rule.threshold}`,
    subjectId: '',
  };
}

/** Fires while any compensation has been running longer than the threshold; names the oldest. */
export function slowCompensation(
  compensating: readonly { sagaId: string; sagaName: string; since: number }[],
  now: number,
  rule: { thresholdMs: number },
): AlertReading {
  let oldest: { sagaId: string; sagaName: string; since: number } | undefined;
  let slow = 0;
  for (const c of compensating) {
    if (now - c.since > rule.thresholdMs) slow += 1;
    if (oldest === undefined || c.since < oldest.since) oldest = c;
  }
  const longest = oldest === undefined ? 0 : Math.max(0, now - oldest.since);
  return {
    kind: 'slow_compensation',
    active: slow > 0,
    value: longest,
    threshold: rule.thresholdMs,
    message:
      slow > 0 && oldest !== undefined
        ? `${slow} compensations running longer than ${rule.thresholdMs} ms; the oldest (saga ${oldest.sagaName}) for ${longest} ms`
        : `no compensation running longer than ${rule.thresholdMs} ms`,
    subjectId: slow > 0 && oldest !== undefined ? oldest.sagaId : '',
  };
}
