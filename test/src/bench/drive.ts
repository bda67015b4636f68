// Runs load-worker processes and aggregates what they report.

import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, pinProcess } from './bench-process.js';
import type { RetryPolicy } from '@saga/proto';
import type { WorkerConfig, WorkerCounts, WorkerMessage } from './worker-protocol.js';

export interface DriveTotals extends WorkerCounts {
  outstanding: number;
}

export interface DriveResult extends DriveTotals {
  windowCompleted: number;
  windowLatencies: number[];
  windowAttempts: number;
  windowShed: number;
  errorSamples: string[];
}

export class Drive {
  private readonly workers: ChildProcess[];
  private readonly totals = new Map<number, DriveTotals>();
  /** Latencies reported since the last takeLatencies(). */
  private recent: number[] = [];
  readonly done: Promise<DriveResult>;

  /** `cpus`: pin every load process to these CPUs (taskset list, e.g. "0") before it starts driving. */
  constructor(configs: readonly WorkerConfig[], cpus?: string) {
    this.workers = configs.map(() => fork(join(BENCH_DIR, 'load-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] }));
    if (cpus !== undefined) for (const w of this.workers) pinProcess(w.pid ?? -1, cpus);
    const finals = this.workers.map(
      (w, i) =>
        new Promise<Extract<WorkerMessage, { t: 'done' }>>((resolve, reject) => {
          w.on('message', (m: WorkerMessage) => {
            const { started, completed, errors, notCompleted, skipped, shed } = m;
            const outstanding = m.t === 'progress' ? m.outstanding : 0;
            this.totals.set(i, { started, completed, errors, notCompleted, outstanding, skipped, shed });
            if (m.t === 'progress') {
              for (const l of m.lat) this.recent.push(l);
            } else resolve(m);
          });
          w.once('exit', (code) => reject(new Error(`load worker ${i} exited (${code}) before it finished`)));
        }),
    );
    this.workers.forEach((w, i) => w.send(configs[i] as WorkerConfig));
    this.done = Promise.all(finals).then((all) => {
      for (const w of this.workers) w.disconnect();
      const sum = (f: (m: Extract<WorkerMessage, { t: 'done' }>) => number): number => all.reduce((a, m) => a + f(m), 0);
      return {
        started: sum((m) => m.started),
        completed: sum((m) => m.completed),
        errors: sum((m) => m.errors),
        notCompleted: sum((m) => m.notCompleted),
        outstanding: 0,
        skipped: sum((m) => m.skipped),
        shed: sum((m) => m.shed),
        windowCompleted: sum((m) => m.windowCompleted),
        windowLatencies: all.flatMap((m) => m.windowLatencies),
        windowAttempts: sum((m) => m.windowAttempts),
        windowShed: sum((m) => m.windowShed),
        errorSamples: all.flatMap((m) => m.errorSamples).slice(0, 5),
      };
    });
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid ?? -1);
  }

  snapshot(): DriveTotals {
    const t: DriveTotals = { started: 0, completed: 0, errors: 0, notCompleted: 0, outstanding: 0, skipped: 0, shed: 0 };
    for (const v of this.totals.values()) {
      t.started += v.started;
      t.completed += v.completed;
      t.errors += v.errors;
      t.notCompleted += v.notCompleted;
      t.outstanding += v.outstanding;
      t.skipped += v.skipped;
      t.shed += v.shed;
    }
    return t;
  }

  takeLatencies(): number[] {
    const r = this.recent;
    this.recent = [];
    return r;
  }

  kill(): void {
    for (const w of this.workers) if (w.exitCode === null) w.kill('SIGKILL');
  }
}

/** Splits `total` into `parts` integers that differ by at most one. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export interface FixedCountOptions {
  readonly address: string;
  /** Sagas to start, in all. */
  readonly sagas: number;
  /** In flight, over all load processes. */
  readonly concurrency: number;
  readonly clients: number;
  readonly steps: number;
  readonly participants: number;
  readonly payloadBytes: number;
  /** The Execute retry policy of every step. */
  readonly retry: RetryPolicy;
  /** The saga deadline in ms; default none. */
  readonly deadlineMs?: number;
}

/**
 * Starts `sagas` sagas closed-loop without waiting for their outcomes (the
 * set-up of the parked and recovery scenarios); `done` once all are started.
 */
export function driveFixedCount(o: FixedCountOptions): Drive {
  const conc = split(o.concurrency, o.clients);
  const totals = split(o.sagas, o.clients);
  const base: Omit<WorkerConfig, 'concurrency' | 'total'> = {
    address: o.address,
    mode: 'closed',
    rate: 0,
    maxOutstanding: 0,
    steps: o.steps,
    participants: o.participants,
    payloadBytes: o.payloadBytes,
    waitMs: 0,
    startAt: Date.now() + 200,
    measureFrom: 0,
    measureTo: 0,
    stopAt: Date.now() + 3_600_000,
    channels: 2,
    driver: 'lean',
    retry: o.retry,
    deadlineMs: o.deadlineMs,
  };
  return new Drive(Array.from({ length: o.clients }, (_, i) => ({ ...base, concurrency: conc[i] ?? 1, total: totals[i] ?? 0 })));
}
