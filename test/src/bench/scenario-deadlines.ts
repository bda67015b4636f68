// Scenario "deadlines": the coordinator's memory after many sagas with a long
// deadline have finished. Each finished saga must leave nothing behind in the
// timer queue (its deadline entry is removed when it finishes, not when the
// deadline would have passed). Runs the same sagas twice, on fresh
// coordinators and databases: without a deadline, then with a 1 h deadline,
// and compares the RSS once each run has finished and settled.

import { join } from 'node:path';
import type { Args } from './args.js';
import { participantCounters, startBenchCoordinator, type BenchProcess } from './bench-process.js';
import { fmt, log, quietFirst, startParticipants, until, type Common } from './common.js';
import { driveFixedCount, type Drive } from './drive.js';
import { round } from './histogram.js';
import { memory } from './proc-stats.js';
import { queryDb } from '../support/sqlite-inspect.js';

const HOUR = 3_600_000;
const RETRY = { maxAttempts: 3, attemptTimeoutMs: 10_000, initialBackoffMs: 100, maxBackoffMs: 1000, backoffMultiplier: 2 };

interface RunFigures {
  readonly deadlineMs: number;
  readonly completed: number;
  readonly startErrors: number;
  readonly rssAfterFinishMiB: number;
  readonly peakRssMiB: number;
}

export async function runDeadlines(args: Args, c: Common): Promise<Record<string, unknown>> {
  const sagas = args.number('sagas', 200_000);
  const concurrency = args.number('concurrency', 256);
  const clients = Math.max(1, args.number('clients', 2));
  const settleS = args.number('settle', 30);
  const deadlineMs = args.number('deadline-ms', HOUR);
  args.rejectUnknown();

  const otherCpuCoresBeforeStart = await quietFirst(c.quietS);
  const without = await oneRun(c, { sagas, concurrency, clients, settleS, deadlineMs: 0 });
  const withDeadline = await oneRun(c, { sagas, concurrency, clients, settleS, deadlineMs });
  const ratio = withDeadline.rssAfterFinishMiB / without.rssAfterFinishMiB;
  const out = {
    params: { sagas, steps: c.steps, participants: c.participants, payloadBytes: c.payload, synchronous: c.sync, concurrency, settleS, deadlineMs },
    results: { otherCpuCoresBeforeStart, without, withDeadline, rssRatioWithToWithout: round(ratio, 3) },
  };
  process.stdout.write(
    [
      '',
      `== ${fmt(sagas)} ${c.steps}-step sagas run to completion, RSS after ${settleS} s settled`,
      `without a deadline        ${fmt(without.rssAfterFinishMiB, 1)} MiB (peak ${fmt(without.peakRssMiB, 1)}); completed ${fmt(without.completed)}, start errors ${without.startErrors}`,
      `with a ${fmt(deadlineMs / 60_000)}-min deadline   ${fmt(withDeadline.rssAfterFinishMiB, 1)} MiB (peak ${fmt(withDeadline.peakRssMiB, 1)}); completed ${fmt(withDeadline.completed)}, start errors ${withDeadline.startErrors}`,
      `with / without            ${fmt(ratio * 100, 1)} %  (target: within 120 %)`,
      '',
    ].join('\n'),
  );
  return out;
}

async function oneRun(
  c: Common,
  o: { sagas: number; concurrency: number; clients: number; settleS: number; deadlineMs: number },
): Promise<RunFigures> {
  const label = o.deadlineMs > 0 ? 'with-deadline' : 'without-deadline';
  const db = join(c.dir, `coordinator-${label}.db`);
  const { procs: participants, registry } = await startParticipants(c.participants, 'ok');
  const counters = participantCounters(participants);
  let coordinator: BenchProcess | undefined;
  let drive: Drive | undefined;
  try {
    coordinator = await startBenchCoordinator({ db, participants: registry, synchronous: c.sync, nodeArgs: c.nodeArgs, logLevel: c.logLevel });
    const co = coordinator;
    log(`deadlines (${label}): starting ${fmt(o.sagas)} ${c.steps}-step sagas`);
    const t0 = Date.now();
    const d = driveFixedCount({
      address: co.address,
      sagas: o.sagas,
      concurrency: o.concurrency,
      clients: o.clients,
      steps: c.steps,
      participants: c.participants,
      payloadBytes: c.payload,
      retry: RETRY,
      deadlineMs: o.deadlineMs,
    });
    drive = d;
    const calls = o.sagas * c.steps;
    const ticker = setInterval(() => {
      const m = memory(co.pid);
      log(`[${fmt((Date.now() - t0) / 1000).padStart(4)} s] started ${fmt(d.snapshot().completed).padStart(7)}  step calls answered ${fmt(counters().calls).padStart(8)}  coordinator RSS ${fmt(m.rssMiB)} MiB`);
    }, 1000);
    let started;
    try {
      started = await d.done;
      if (!(await until(() => counters().calls >= calls, 600_000))) throw new Error(`only ${counters().calls} of ${calls} step calls reached the participants`);
      log(`all step calls answered after ${fmt((Date.now() - t0) / 1000, 1)} s; settling ${o.settleS} s`);
      await new Promise((r) => setTimeout(r, o.settleS * 1000));
    } finally {
      clearInterval(ticker);
    }
    const mem = memory(co.pid);
    await co.stop();
    coordinator = undefined;
    const done = await queryDb<{ n: number }>(db, "SELECT COUNT(*) AS n FROM sagas WHERE state = 'COMPLETED'");
    return {
      deadlineMs: o.deadlineMs,
      completed: done[0]?.n ?? 0,
      startErrors: started.errors,
      rssAfterFinishMiB: round(mem.rssMiB, 1),
      peakRssMiB: round(mem.peakRssMiB, 1),
    };
  } finally {
    drive?.kill();
    await coordinator?.stop();
    await Promise.all(participants.map((p) => p.stop()));
  }
}
