// The health page's figures: compensation success rate over the alert window,
// the MANUAL count, compensations running too long, throughput and latency from
// the coordinator's own metrics, and the alert rules' state.

import type { Registry } from 'prom-client';
import type { AlertsConfig } from '../config/config.js';
import { manualBacklog, slowCompensation, type AlertKindName } from '../alerts/alert-rules.js';
import type { SagaState } from '../domain/saga-types.js';
import { histogramQuantiles, samples, type Quantiles } from './metric-reads.js';
import type { Throughput, ThroughputSampler } from './throughput-sampler.js';

export interface HealthSources {
  readonly registry: Registry;
  readonly throughput: ThroughputSampler;
  readonly alerts: AlertsConfig;
  readonly countByState: () => Promise<Map<SagaState, number>>;
  /** Sagas compensating now and since when (the engine's view). */
  readonly compensating: () => readonly { sagaId: string; sagaName: string; since: number }[];
  readonly inFlight: () => number;
  readonly now?: () => number;
}

export interface AlertState {
  readonly kind: AlertKindName;
  readonly enabled: boolean;
  /** As the alert monitor last reported it (it evaluates every alerts.evaluateIntervalMs). */
  readonly firing: boolean;
  readonly value: number | undefined;
  readonly threshold: number;
  readonly message: string;
}

export interface HealthReport {
  readonly at: number;
  readonly counts: Partial<Record<SagaState, number>>;
  readonly inFlight: number;
  readonly manual: number;
  readonly compensation: { readonly successRatio: number | undefined; readonly windowMs: number; readonly threshold: number };
  readonly slowCompensations: {
    readonly thresholdMs: number;
    readonly compensating: number;
    readonly slow: readonly { sagaId: string; sagaName: string; since: number; runningMs: number }[];
  };
  readonly throughput: Throughput;
  /** Seconds (bucket upper bounds), since the coordinator started. */
  readonly latency: { readonly execute: Quantiles; readonly compensate: Quantiles; readonly compensation: Quantiles };
  readonly alerts: readonly AlertState[];
}

const MAX_SLOW_LISTED = 50;

export async function healthReport(src: HealthSources): Promise<HealthReport> {
  const now = (src.now ?? Date.now)();
  const [counts, ratio, active, steps, compensations, throughput] = await Promise.all([
    src.countByState(),
    samples(src.registry, 'saga_compensation_success_ratio'),
    samples(src.registry, 'saga_alert_active'),
    samples(src.registry, 'saga_step_duration_seconds'),
    samples(src.registry, 'saga_compensation_duration_seconds'),
    src.throughput.current(),
  ]);
  const rules = src.alerts;
  const firing = (kind: AlertKindName): boolean => active.some((s) => s.labels.kind === kind && s.value === 1);
  const manual = counts.get('MANUAL') ?? 0;
  const compensating = src.compensating();
  const slow = compensating
    .filter((c) => now - c.since > rules.slowCompensation.thresholdMs)
    .sort((a, b) => a.since - b.since)
    .map((c) => ({ ...c, runningMs: now - c.since }));
  // The gauge reads 1 when no compensation finished in the window.
  const successRatio = ratio[0]?.value;
  const manualReading = manualBacklog(manual, rules.manualBacklog);
  const slowReading = slowCompensation(compensating, now, rules.slowCompensation);
  return {
    at: now,
    counts: Object.fromEntries(counts),
    inFlight: src.inFlight(),
    manual,
    compensation: { successRatio, windowMs: rules.compensationSuccessRate.windowMs, threshold: rules.compensationSuccessRate.threshold },
    slowCompensations: { thresholdMs: rules.slowCompensation.thresholdMs, compensating: compensating.length, slow: slow.slice(0, MAX_SLOW_LISTED) },
    throughput,
    latency: {
      execute: histogramQuantiles(steps, { operation: 'execute' }),
      compensate: histogramQuantiles(steps, { operation: 'compensate' }),
      compensation: histogramQuantiles(compensations),
    },
    alerts: [
      {
        kind: 'compensation_success_rate',
        enabled: rules.compensationSuccessRate.enabled,
        firing: firing('compensation_success_rate'),
        value: successRatio,
        threshold: rules.compensationSuccessRate.threshold,
        message: `fires while fewer than ${(rules.compensationSuccessRate.threshold * 100).toFixed(1)} % of compensations succeed over ${Math.round(rules.compensationSuccessRate.windowMs / 60_000)} min`,
      },
      { kind: 'manual_backlog', enabled: rules.manualBacklog.enabled, firing: firing('manual_backlog'), value: manual, threshold: manualReading.threshold, message: manualReading.message },
      {
        kind: 'slow_compensation',
        enabled: rules.slowCompensation.enabled,
        firing: firing('slow_compensation'),
        value: slowReading.value,
        threshold: slowReading.threshold,
        message: slowReading.message,
      },
    ],
  };
}
