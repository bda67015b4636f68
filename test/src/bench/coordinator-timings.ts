// Where a saga's time goes inside the coordinator, read from its own Prometheus
// endpoint at the edges of the measured window: the group-commit wait of each
// durable write (saga_commit_wait_seconds), the participant calls
// (saga_participant_call_seconds), GC pauses (nodejs_gc_duration_seconds, a
// PerformanceObserver of 'gc') and event-loop delay (nodejs_eventloop_lag_*,
// perf_hooks.monitorEventLoopDelay: prom-client resets it at every scrape, so
// the second scrape covers exactly the window). Histograms are differenced
// between the two scrapes; percentiles are interpolated inside buckets (1-2-5
// steps), good for direction, not to the microsecond.

import { round } from './histogram.js';

interface Histogram {
  /** Upper bounds (seconds or units) with cumulative counts, ascending; the last is +Inf. */
  readonly buckets: [number, number][];
  readonly sum: number;
  readonly count: number;
}

export interface Scrape {
  /** By metric name, summed over label sets. */
  readonly histograms: ReadonlyMap<string, Histogram>;
  /** name{labels} -> value, for gauges and counters. */
  readonly samples: ReadonlyMap<string, number>;
}

/** Parses Prometheus text exposition: histograms merged over their labels (le aside), other samples as they are. */
export function parsePrometheus(text: string): Scrape {
  const buckets = new Map<string, Map<number, number>>();
  const sums = new Map<string, number>();
  const counts = new Map<string, number>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const [, name = '', labels = '', raw = ''] = m;
    const value = Number(raw);
    if (name.endsWith('_bucket')) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const base = name.slice(0, -'_bucket'.length);
      const bound = le === '+Inf' ? Infinity : Number(le);
      const b = buckets.get(base) ?? new Map<number, number>();
      b.set(bound, (b.get(bound) ?? 0) + value);
      buckets.set(base, b);
    } else if (name.endsWith('_sum')) {
      sums.set(name.slice(0, -4), (sums.get(name.slice(0, -4)) ?? 0) + value);
    } else if (name.endsWith('_count')) {
      counts.set(name.slice(0, -6), (counts.get(name.slice(0, -6)) ?? 0) + value);
    }
    samples.set(`${name}${labels}`, value);
  }
  const histograms = new Map<string, Histogram>();
  for (const [name, b] of buckets) {
    histograms.set(name, { buckets: [...b.entries()].sort((x, y) => x[0] - y[0]), sum: sums.get(name) ?? 0, count: counts.get(name) ?? 0 });
  }
  return { histograms, samples };
}

export async function scrapeMetrics(address: string): Promise<Scrape> {
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`GET http://${address}/metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** b − a, bucket by bucket (a absent: b). */
function minus(b: Histogram | undefined, a: Histogram | undefined): Histogram | undefined {
  if (b === undefined) return undefined;
  if (a === undefined) return b;
  const before = new Map(a.buckets);
  return { buckets: b.buckets.map(([le, n]) => [le, n - (before.get(le) ?? 0)]), sum: b.sum - a.sum, count: b.count - a.count };
}

/** The q-quantile, linearly interpolated inside its bucket; the last finite bound when it falls in +Inf. */
function quantile(h: Histogram, q: number): number {
  if (h.count <= 0) return NaN;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le)) return lower;
      const inBucket = cumulative - below;
      return inBucket <= 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = Number.isFinite(le) ? le : lower;
    below = cumulative;
  }
  return lower;
}

/** The upper bound of the highest bucket that gained samples (the largest value is at most this). */
function maxBound(h: Histogram): number {
  let prev = 0;
  let top = 0;
  for (const [le, cumulative] of h.buckets) {
    if (cumulative > prev) top = le;
    prev = cumulative;
  }
  return top;
}

export interface Distribution {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** The largest value is at most this (a bucket bound). */
  readonly maxBelowMs: number;
  /** Total ms of all samples divided by the sagas completed in the window. */
  readonly perSagaMs: number;
}

export interface WindowTimings {
  /** Each durable write: commit() until handed back to the engine. */
  readonly commitWait: Distribution | undefined;
  readonly meanBatchUnits: number | undefined;
  /** Each group-committed transaction itself, without the queueing before it (saga_commit_write_seconds). */
  readonly commitWrite: Distribution | undefined;
  /** Each saga from its start to its outcome, as the coordinator sees it (saga_duration_seconds): the client's latency less the network and its own queueing. */
  readonly sagaInCoordinator: Distribution | undefined;
  /** Each participant call (Execute/Compensate) as the coordinator sees it. */
  readonly participantCall: Distribution | undefined;
  /** GC pauses of the coordinator's main isolate. */
  readonly gc: (Distribution & { readonly shareOfWall: number }) | undefined;
  /** Event-loop delay over the window (monitorEventLoopDelay, 10 ms resolution), ms. */
  readonly loopDelay: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number; readonly meanMs: number } | undefined;
}

function distribution(h: Histogram | undefined, sagas: number): Distribution | undefined {
  if (h === undefined || h.count <= 0) return undefined;
  return {
    count: h.count,
    meanMs: round((h.sum / h.count) * 1000, 3),
    p50Ms: round(quantile(h, 0.5) * 1000, 3),
    p99Ms: round(quantile(h, 0.99) * 1000, 3),
    maxBelowMs: round(maxBound(h) * 1000, 3),
    perSagaMs: round((h.sum * 1000) / Math.max(1, sagas), 3),
  };
}

/**
 * The window's timings from a scrape at its start and one at its end.
 * monitorEventLoopDelay reports the interval between its timer's runs: the
 * configured resolution (prom-client: 10 ms) is subtracted to leave the delay.
 */
export function windowTimings(a: Scrape, b: Scrape, sagas: number, wallMs: number): WindowTimings {
  const h = (name: string): Histogram | undefined => minus(b.histograms.get(name), a.histograms.get(name));
  const batches = h('saga_commit_batch_units');
  const gcH = h('nodejs_gc_duration_seconds');
  const gc = distribution(gcH, sagas);
  const lag = (which: string): number | undefined => b.samples.get(`nodejs_eventloop_lag_${which}_seconds`);
  const [p50, p99, max, mean] = [lag('p50'), lag('p99'), lag('max'), lag('mean')];
  const resolutionS = 0.01;
  const delayMs = (s: number): number => round(Math.max(0, s - resolutionS) * 1000, 2);
  return {
    commitWait: distribution(h('saga_commit_wait_seconds'), sagas),
    meanBatchUnits: batches === undefined || batches.count <= 0 ? undefined : round(batches.sum / batches.count, 1),
    commitWrite: distribution(h('saga_commit_write_seconds'), sagas),
    sagaInCoordinator: distribution(h('saga_duration_seconds'), sagas),
    participantCall: distribution(h('saga_participant_call_seconds'), sagas),
    gc: gc === undefined || gcH === undefined ? undefined : { ...gc, shareOfWall: round((gcH.sum * 1000) / wallMs, 4) },
    loopDelay:
      p50 === undefined || p99 === undefined || max === undefined || mean === undefined
        ? undefined
        : { p50Ms: delayMs(p50), p99Ms: delayMs(p99), maxMs: delayMs(max), meanMs: delayMs(mean) },
  };
}

/** The report's lines. */
export function timingLines(t: WindowTimings, fmt: (n: number, digits?: number) => string): string[] {
  const d = (label: string, x: Distribution | undefined, extra = ''): string =>
    x === undefined
      ? `${label.padEnd(29)}-`
      : `${label.padEnd(29)}p50 ${fmt(x.p50Ms, 2)}  p99 ${fmt(x.p99Ms, 2)}  max ≤ ${fmt(x.maxBelowMs, 1)}  mean ${fmt(x.meanMs, 3)} ms; ${fmt(x.perSagaMs, 3)} ms per saga${extra}`;
  return [
    d('saga in the coordinator', t.sagaInCoordinator),
    d('commit wait, per write', t.commitWait, t.meanBatchUnits === undefined ? '' : `  (${fmt(t.meanBatchUnits, 1)} writes per batch)`),
    d('  the transaction itself', t.commitWrite, '  (per batch)'),
    d('participant call', t.participantCall),
    d('GC pause', t.gc, t.gc === undefined ? '' : `  (${fmt(t.gc.count)} pauses, ${fmt(t.gc.shareOfWall * 100, 1)} % of the time)`),
    t.loopDelay === undefined
      ? 'event-loop delay             -'
      : `event-loop delay             p50 ${fmt(t.loopDelay.p50Ms, 2)}  p99 ${fmt(t.loopDelay.p99Ms, 2)}  max ${fmt(t.loopDelay.maxMs, 1)}  mean ${fmt(t.loopDelay.meanMs, 2)} ms`,
  ];
}
