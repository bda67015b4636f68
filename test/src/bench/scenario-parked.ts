// Scenario "parked": the coordinator's memory with many sagas waiting out a
// retry backoff. Every Execute is answered UNAVAILABLE (transient) and the
// steps' retry policy backs off for up to an hour, so after its first attempt
// every saga sits in the timer queue. Reports the coordinator's RSS once they
// are all parked (and its peak while they were being started).

import { join } from 'node:path';
import type { Args } from './args.js';
import { participantCounters, startBenchCoordinator, type BenchProcess } from './bench-process.js';
import { fmt, log, quietFirst, startParticipants, until, type Common } from './common.js';
import { driveFixedCount, type Drive, type DriveResult } from './drive.js';
import { round } from './histogram.js';
import { cpuTimeMs, memory } from './proc-stats.js';
import { queryDb } from '../support/sqlite-inspect.js';

const HOUR = 3_600_000;
/** Every Execute is answered UNAVAILABLE; the next attempt is due within the hour (full jitter). */
export const PARKING_RETRY = { maxAttempts: 10, attemptTimeoutMs: 10_000, initialBackoffMs: HOUR, maxBackoffMs: HOUR, backoffMultiplier: 2 };

export async function runParked(args: Args, c: Common): Promise<Record<string, unknown>> {
  const sagas = args.number('sagas', 100_000);
  const concurrency = args.number('concurrency', 256);
  const clients = Math.max(1, args.number('clients', 2));
  const settleS = args.number('settle', 30);
  args.rejectUnknown();

  const otherCpuCoresBeforeStart = await quietFirst(c.quietS);
  const db = join(c.dir, 'coordinator.db');
  const { procs: participants, registry } = await startParticipants(c.participants, 'unavailable');
  const counters = participantCounters(participants);
  let coordinator: BenchProcess | undefined;
  const drive: { current?: Drive } = {};
  try {
    coordinator = await startBenchCoordinator({ db, participants: registry, synchronous: c.sync, nodeArgs: c.nodeArgs, logLevel: c.logLevel });
    const co = coordinator;
    log(`parked: coordinator pid ${co.pid}; starting ${fmt(sagas)} ${c.steps}-step sagas whose first Execute answers UNAVAILABLE; retry backoff up to 1 h`);
    const t0 = Date.now();
    const result = await startParkedSagas({ c, coordinator: co, sagas, concurrency, clients, counters, drive });
    const startedS = (Date.now() - t0) / 1000;
    const parkedMem = memory(co.pid);
    log(`all ${fmt(sagas)} sagas started and parked after ${fmt(startedS, 1)} s (RSS ${fmt(parkedMem.rssMiB)} MiB); settling ${settleS} s`);
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const mem = memory(co.pid);
    const cpu = cpuTimeMs(co.pid);
    const calls = counters().calls;
    await co.stop();
    const running = await queryDb<{ n: number }>(db, "SELECT COUNT(*) AS n FROM sagas WHERE state = 'RUNNING'");
    const out = {
      params: { sagas, steps: c.steps, participants: c.participants, payloadBytes: c.payload, synchronous: c.sync, concurrency, settleS, retry: PARKING_RETRY },
      results: {
        otherCpuCoresBeforeStart,
        parkedSagas: running[0]?.n ?? 0,
        coordinatorRssMiB: round(mem.rssMiB, 1),
        coordinatorRssWhenAllParkedMiB: round(parkedMem.rssMiB, 1),
        coordinatorPeakRssMiB: round(mem.peakRssMiB, 1),
        participantCalls: calls,
        startErrors: result.errors,
        coordinatorCpuMs: round(cpu, 0),
      },
    };
    process.stdout.write(
      [
        '',
        `== ${fmt(sagas)} sagas parked on retry backoff (${c.steps}-step, ${c.payload}-byte payloads)`,
        `sagas RUNNING in the database   ${fmt(out.results.parkedSagas)}`,
        `coordinator RSS                 ${fmt(out.results.coordinatorRssMiB, 1)} MiB after ${settleS} s parked (${fmt(out.results.coordinatorRssWhenAllParkedMiB, 1)} MiB when the last one parked; peak ${fmt(out.results.coordinatorPeakRssMiB, 1)} MiB)`,
        `participant calls               ${fmt(calls)}  start errors ${result.errors}`,
        '',
      ].join('\n'),
    );
    return out;
  } finally {
    drive.current?.kill();
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
  }
}

/**
 * Starts `sagas` sagas whose first Execute is answered UNAVAILABLE (the
 * parked set-up), logging progress every second, and resolves once every
 * first attempt reached the participants: each saga then waits out its
 * backoff. `drive.current` is the driver while it runs (for the caller's clean-up).
 */
export async function startParkedSagas(o: {
  readonly c: Common;
  readonly coordinator: BenchProcess;
  readonly sagas: number;
  readonly concurrency: number;
  readonly clients: number;
  readonly counters: () => { calls: number };
  readonly drive: { current?: Drive };
}): Promise<DriveResult> {
  const { c, coordinator: co, sagas, counters } = o;
  const t0 = Date.now();
  const d = driveFixedCount({
    address: co.address,
    sagas,
    concurrency: o.concurrency,
    clients: o.clients,
    steps: c.steps,
    participants: c.participants,
    payloadBytes: c.payload,
    retry: PARKING_RETRY,
  });
  o.drive.current = d;
  const ticker = setInterval(() => {
    const m = memory(co.pid);
    log(`[${fmt((Date.now() - t0) / 1000).padStart(4)} s] started ${fmt(d.snapshot().completed).padStart(7)}  first attempts answered ${fmt(counters().calls).padStart(7)}  coordinator RSS ${fmt(m.rssMiB)} MiB (peak ${fmt(m.peakRssMiB)})`);
  }, 1000);
  try {
    const started = await d.done;
    if (started.errors > 0) throw new Error(`${started.errors} StartSaga calls failed: ${started.errorSamples.join('; ')}`);
    if (!(await until(() => counters().calls >= sagas, 120_000))) throw new Error(`only ${counters().calls} of ${sagas} first attempts reached the participant`);
    return started;
  } finally {
    clearInterval(ticker);
  }
}
