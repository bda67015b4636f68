// Samples the started/finished counters at a fixed interval so the health page
// can show rates over the last minute (the counters themselves only grow).

import type { Registry } from 'prom-client';
import { samples, total } from './metric-reads.js';

interface Sample {
  readonly at: number;
  readonly started: number;
  readonly finished: number;
}

export interface Throughput {
  /** The span the rates are over, ms (shorter than a minute right after start). */
  readonly windowMs: number;
  readonly startedPerSecond: number;
  readonly finishedPerSecond: number;
}

const KEEP_MS = 60_000;

export class ThroughputSampler {
  private readonly kept: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly registry: Registry,
    private readonly intervalMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async start(): Promise<void> {
    await this.sample();
    // Reads of the in-process registry; a failed one only leaves a gap in the samples.
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Rates between the oldest kept sample and a fresh reading. */
  async current(): Promise<Throughput> {
    const latest = await this.read();
    const first = this.kept[0] ?? latest;
    const span = latest.at - first.at;
    if (span <= 0) return { windowMs: 0, startedPerSecond: 0, finishedPerSecond: 0 };
    return {
      windowMs: span,
      startedPerSecond: ((latest.started - first.started) * 1000) / span,
      finishedPerSecond: ((latest.finished - first.finished) * 1000) / span,
    };
  }

  private async sample(): Promise<void> {
    const s = await this.read();
    this.kept.push(s);
    while (this.kept.length > 1 && (this.kept[0]?.at ?? s.at) < s.at - KEEP_MS) this.kept.shift();
  }

  private async read(): Promise<Sample> {
    const [started, finished] = await Promise.all([
      samples(this.registry, 'saga_sagas_started_total'),
      samples(this.registry, 'saga_sagas_finished_total'),
    ]);
    return { at: this.now(), started: total(started), finished: total(finished) };
  }
}
