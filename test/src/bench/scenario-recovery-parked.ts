// Scenario "recovery --waiting backoff": the coordinator restarts on a log of
// many active sagas that have nothing in doubt. Every first Execute is answered
// UNAVAILABLE with a retry backoff of up to an hour (the parked set-up), so each
// saga waits in the timer queue when the coordinator is killed. Recovery must
// park them as their pages load instead of folding them all into memory first;
// the figure is the restarted coordinator's peak RSS (and the time to ready).

import { join } from 'node:path';
import type { Args } from './args.js';
import { participantCounters, startBenchCoordinator, startRecoveringCoordinator, type BenchProcess } from './bench-process.js';
import { fmt, log, quietFirst, startParticipants, type Common } from './common.js';
import type { Drive } from './drive.js';
import { round } from './histogram.js';
import { memory } from './proc-stats.js';
import { PARKING_RETRY, startParkedSagas } from './scenario-parked.js';
import { queryDb } from '../support/sqlite-inspect.js';

export async function runRecoveryParked(args: Args, c: Common): Promise<Record<string, unknown>> {
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
    const first = await startBenchCoordinator({ db, participants: registry, synchronous: c.sync, nodeArgs: c.nodeArgs, logLevel: c.logLevel });
    coordinator = first;
    log(`recovery (backoff): starting ${fmt(sagas)} ${c.steps}-step sagas whose first Execute answers UNAVAILABLE; retry backoff up to 1 h`);
    await startParkedSagas({ c, coordinator: first, sagas, concurrency, clients, counters, drive });
    const beforeKill = memory(first.pid);
    log(`all ${fmt(sagas)} sagas parked on backoff (coordinator RSS ${fmt(beforeKill.rssMiB)} MiB); kill -9 the coordinator`);
    await first.crash();
    coordinator = undefined;

    const restartAt = Date.now();
    const { proc: second, recovery } = await startRecoveringCoordinator({
      db,
      participants: registry,
      synchronous: c.sync,
      nodeArgs: c.nodeArgs,
      logLevel: c.logLevel,
      port: first.port,
    });
    coordinator = second;
    const readyMs = Date.now() - restartAt;
    const atReady = memory(second.pid);
    log(`restarted and ready after ${fmt(readyMs)} ms (RSS ${fmt(atReady.rssMiB)} MiB, peak ${fmt(atReady.peakRssMiB)} MiB); settling ${settleS} s`);
    await new Promise((r) => setTimeout(r, settleS * 1000));
    const settled = memory(second.pid);
    await second.stop(30_000);
    coordinator = undefined;
    const running = await queryDb<{ n: number }>(db, "SELECT COUNT(*) AS n FROM sagas WHERE state = 'RUNNING'");
    const out = {
      params: { sagas, steps: c.steps, participants: c.participants, payloadBytes: c.payload, synchronous: c.sync, concurrency, settleS, retry: PARKING_RETRY },
      results: {
        otherCpuCoresBeforeStart,
        activeSagas: running[0]?.n ?? 0,
        restartToReadyMs: readyMs,
        recoveryLogMs: recovery()?.ms,
        recovered: recovery()?.recovered,
        inDoubt: recovery()?.inDoubt,
        coordinatorRssBeforeKillMiB: round(beforeKill.rssMiB, 1),
        restartedRssAtReadyMiB: round(atReady.rssMiB, 1),
        restartedRssSettledMiB: round(settled.rssMiB, 1),
        restartedPeakRssMiB: round(settled.peakRssMiB, 1),
      },
    };
    const r = out.results;
    process.stdout.write(
      [
        '',
        `== kill -9 with ${fmt(sagas)} active sagas parked on retry backoff, restart on the same database`,
        `active sagas in the database            ${fmt(r.activeSagas)}`,
        `restart -> ready line                   ${fmt(r.restartToReadyMs)} ms; "recovery done" ms=${r.recoveryLogMs ?? '?'} recovered=${r.recovered ?? '?'} inDoubt=${r.inDoubt ?? '?'}`,
        `restarted coordinator RSS               ${fmt(r.restartedRssAtReadyMiB, 1)} MiB at ready, ${fmt(r.restartedRssSettledMiB, 1)} MiB after ${settleS} s, peak ${fmt(r.restartedPeakRssMiB, 1)} MiB (${fmt(r.coordinatorRssBeforeKillMiB, 1)} MiB before the kill)`,
        '',
      ].join('\n'),
    );
    return out;
  } finally {
    drive.current?.kill();
    await coordinator?.stop(30_000);
    await Promise.all(participants.map((p) => p.stop()));
  }
}
