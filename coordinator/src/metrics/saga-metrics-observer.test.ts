// Metric labels from client-chosen names stay bounded: past metrics.maxLabelValues
// distinct saga names (and distinct saga/step pairs) the rest are counted as "other".

import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import { CoordinatorMetrics } from './coordinator-metrics.js';
import { SagaMetricsObserver } from './saga-metrics-observer.js';

/** The parts of a saga the observer reads. */
function saga(name: string, steps: string[]): SagaRuntime {
  return { id: `${name}-1`, version: 1, createdAt: 0, definition: { name, steps: steps.map((s) => ({ name: s })) }, steps: steps.map(() => ({ sentAt: 0 })) } as unknown as SagaRuntime;
}

async function labelValues(metrics: CoordinatorMetrics, metric: string, label: string): Promise<string[]> {
  const got = await metrics.registry.getSingleMetric(metric)?.get();
  return [...new Set((got?.values ?? []).map((v) => String(v.labels[label])))].sort();
}

describe('SagaMetricsObserver label caps', () => {
  it('labels the first maxLabelValues saga names and saga/step pairs as they are, and every later one as "other"', async () => {
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const observer = new SagaMetricsObserver({ metrics, compensationStartedAt: () => undefined, maxLabelValues: 3 });
    const started: JournalEvent = { t: 'dispatch', at: 1, s: 0, op: 'execute', n: 1 };
    for (let i = 0; i < 10; i++) observer.observe(saga(`name-${i}`, ['a']), [started]);
    expect(await labelValues(metrics, 'saga_sagas_started_total', 'saga')).toEqual(['name-0', 'name-1', 'name-2', 'other']);
    const total = (await metrics.registry.getSingleMetric('saga_sagas_started_total')?.get())?.values.reduce((n, v) => n + v.value, 0);
    expect(total).toBe(10);

    // Three (saga, step) pairs fit, then "other".
    const retried = (s: number): JournalEvent => ({ t: 'dispatch', at: 2, s, op: 'execute', n: 2 });
    const many = saga('name-0', ['a', 'b', 'c', 'd', 'e']);
    for (let s = 0; s < 5; s++) observer.observe({ ...many, version: 9 } as SagaRuntime, [retried(s)]);
    expect(await labelValues(metrics, 'saga_step_retries_total', 'step')).toEqual(['a', 'b', 'c', 'other']);
  });

  it('labels the series of a TCC transaction kind="tcc", its operations try/confirm/cancel; those of sagas carry no kind', async () => {
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const observer = new SagaMetricsObserver({ metrics, compensationStartedAt: () => undefined, maxLabelValues: 10 });
    observer.observe(saga('plain', ['a']), [{ t: 'dispatch', at: 1, s: 0, op: 'execute', n: 1 }]);
    const tcc = { ...saga('checkout', ['stock']), tcc: {} } as unknown as SagaRuntime;
    observer.observe(tcc, [{ t: 'dispatch', at: 1, s: 0, op: 'try', n: 1 }]);
    observer.observe({ ...tcc, version: 5 } as SagaRuntime, [
      { t: 'result', at: 2, s: 0, op: 'confirm', n: 1, o: 'S' },
      { t: 'finish', at: 3, state: 'COMPLETED', reason: '' },
    ]);
    const started = (await metrics.registry.getSingleMetric('saga_sagas_started_total')?.get())?.values.map((v) => v.labels);
    expect(started).toEqual([{ saga: 'plain' }, { saga: 'checkout', kind: 'tcc' }]);
    const finished = (await metrics.registry.getSingleMetric('saga_sagas_finished_total')?.get())?.values.map((v) => v.labels);
    expect(finished).toEqual([{ saga: 'checkout', outcome: 'completed', kind: 'tcc' }]);
    expect(await labelValues(metrics, 'saga_step_duration_seconds', 'operation')).toEqual(['confirm']);
    // Start (createdAt 0) to outcome (at 3 ms), once.
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('saga_duration_seconds_count{saga="checkout",outcome="completed",kind="tcc"} 1');
    expect(exposition).toContain('saga_duration_seconds_sum{saga="checkout",outcome="completed",kind="tcc"} 0.003');
  });
});
