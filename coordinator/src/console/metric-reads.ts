// Reads the coordinator's own Prometheus registry (no scrape over HTTP):
// counter totals, gauge values and histogram quantiles for the health page.

import type { Registry } from 'prom-client';

export interface MetricSample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

/** Every sample of the metric (collect callbacks run), [] when it is absent. */
export async function samples(registry: Registry, name: string): Promise<readonly MetricSample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const got = await metric.get();
  return got.values as readonly MetricSample[];
}

/** Sum of the samples matching `labels` (all when none given). */
export function total(values: readonly MetricSample[], labels: Readonly<Record<string, string>> = {}): number {
  let sum = 0;
  for (const v of values) if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
  return sum;
}

export interface Quantiles {
  readonly count: number;
  /** Upper bucket bounds, in seconds, within which the quantile falls; undefined without data or above the last bucket. */
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
}

/** Quantiles of a histogram over the series matching `labels`, summed bucket by bucket. */
export function histogramQuantiles(values: readonly MetricSample[], labels: Readonly<Record<string, string>> = {}): Quantiles {
  const buckets = new Map<number, number>();
  for (const v of values) {
    if (v.metricName?.endsWith('_bucket') !== true) continue;
    if (!Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) continue;
    const le = v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + v.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const count = sorted[sorted.length - 1]?.[1] ?? 0;
  const at = (q: number): number | undefined => {
    if (count === 0) return undefined;
    const bound = sorted.find(([, cumulative]) => cumulative >= q * count)?.[0];
    return bound === undefined || bound === Number.POSITIVE_INFINITY ? undefined : bound;
  };
  return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}
