// Scenario "recovery": many sagas in flight when the coordinator is killed.
// The participant holds every call (never answers), so each saga has a
// durable dispatch intent and an outstanding RPC. After kill -9 the
// coordinator restarts on the same database and port; the participant counts
// the calls it receives again with the same idempotency key and attempt. The
// figure is the time from the restart until every saga has been re-dispatched.

import { join } from 'node:path';
import type { Args } from './args.js';
import { participantCounters, startBenchCoordinator, startRecoveringCoordinator, type BenchProcess } from './bench-process.js';
import { fmt, log, quietFirst, startParticipants, until, type Common } from './common.js';
import { driveFixedCount, type Drive } from './drive.js';
import { round } from './histogram.js';
import { cpuTimeMs, memory } from './proc-stats.js';


export async function runRecovery(args: Args, c: Common): Promise<Record<string, unknown>> {
  const sagas = args.number('sagas', 100_000);
  const concurrency = args.number('concurrency', 256);
  const clients = Math.max(1, args.number('clients', 2));
  const timeoutS = args.number('timeout', 300);
  const participantImpl = args.string('participant-impl', 'http2');
  if (participantImpl !== 'http2' && participantImpl !== 'grpc-js') throw new Error('--participant-impl must be http2 or grpc-js');
  args.rejectUnknown();

  const otherCpuCoresBeforeStart = await quietFirst(c.quietS);
  const db = join(c.dir, 'coordinator.db');
  // Every step on one participant: the first step of each saga is the held call.
  // A bare HTTP/2 participant (--participant-impl grpc-js for the grpc-js one): accepting
  // 100,000 calls at once must not be what the figure measures.
  const { procs: participants, registry } = await startParticipants(c.participants, 'hold', 50, participantImpl);
  const counters = participantCounters(participants);
  let coordinator: BenchProcess | undefined;
  let drive: Drive | undefined;
  try {
    coordinator = await startBenchCoordinator({ db, participants: registry, synchronous: c.sync, nodeArgs: c.nodeArgs, logLevel: c.logLevel });
    const first = coordinator;
    log(`recovery: starting ${fmt(sagas)} ${c.steps}-step sagas whose first Execute is held by the participant`);
    const t0 = Date.now();
    const d = driveFixedCount({
      address: first.address,
      sagas,
      concurrency,
      clients,
      steps: c.steps,
      participants: c.participants,
      payloadBytes: c.payload,
      // Calls are held for as long as it takes: no attempt times out during the scenario.
      retry: { maxAttempts: 5, attemptTimeoutMs: 3_600_000, initialBackoffMs: 100, maxBackoffMs: 1000, backoffMultiplier: 2 },
    });
    drive = d;
    const ticker = setInterval(() => {
      const s = d.snapshot();
      log(`[${fmt((Date.now() - t0) / 1000).padStart(4)} s] started ${fmt(s.completed).padStart(7)}  calls held by the participant ${fmt(counters().held).padStart(7)}  coordinator RSS ${fmt(memory(first.pid).rssMiB)} MiB`);
    }, 1000);
    try {
      const started = await d.done;
      if (started.errors > 0) throw new Error(`${started.errors} StartSaga calls failed: ${started.errorSamples.join('; ')}`);
      if (!(await until(() => counters().held >= sagas, 120_000))) throw new Error(`only ${counters().held} of ${sagas} calls reached the participant`);
    } finally {
      clearInterval(ticker);
    }
    const inFlightMem = memory(first.pid);
    const before = counters();
    log(`${fmt(before.held)} calls in flight (coordinator RSS ${fmt(inFlightMem.rssMiB)} MiB); kill -9 the coordinator`);
    const killedAt = Date.now();
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
    const readyAt = Date.now();
    const partCpu = (): number => participants.reduce((a, p) => a + cpuTimeMs(p.pid), 0);
    let lastCpu = cpuTimeMs(second.pid);
    let lastPartCpu = partCpu();
    const after = setInterval(() => {
      const cpu = cpuTimeMs(second.pid);
      const pc = partCpu();
      log(
        `[+${fmt((Date.now() - restartAt) / 1000, 1)} s] re-dispatched ${fmt(counters().repeated - before.repeated).padStart(7)}` +
          `  coordinator CPU ${fmt((cpu - lastCpu) / 10)} %  participant CPU ${fmt((pc - lastPartCpu) / 10)} %  coordinator RSS ${fmt(memory(second.pid).rssMiB)} MiB`,
      );
      lastCpu = cpu;
      lastPartCpu = pc;
    }, 1000);
    const ok = await until(() => counters().repeated - before.repeated >= sagas, timeoutS * 1000, 10);
    const allAt = Date.now();
    clearInterval(after);
    const final = counters();
    const mem = memory(second.pid);
    const out = {
      params: { sagas, steps: c.steps, participants: c.participants, participantImpl, payloadBytes: c.payload, synchronous: c.sync, concurrency },
      results: {
        otherCpuCoresBeforeStart,
        allRedispatched: ok,
        redispatched: final.repeated - before.repeated,
        restartToAllRedispatchedMs: allAt - restartAt,
        killToAllRedispatchedMs: allAt - killedAt,
        restartToReadyMs: readyAt - restartAt,
        recoveryLogMs: recovery()?.ms,
        recovered: recovery()?.recovered,
        inDoubt: recovery()?.inDoubt,
        coordinatorRssWithCallsInFlightMiB: round(inFlightMem.rssMiB, 1),
        restartedCoordinatorRssMiB: round(mem.rssMiB, 1),
        restartedCoordinatorPeakRssMiB: round(mem.peakRssMiB, 1),
      },
    };
    const r = out.results;
    process.stdout.write(
      [
        '',
        `== kill -9 with ${fmt(sagas)} sagas in flight, restart on the same database`,
        `re-dispatched (same key, same attempt)   ${fmt(r.redispatched)} of ${fmt(sagas)}${ok ? '' : '  (TIMED OUT)'}`,
        `restart -> all re-dispatched            ${fmt(r.restartToAllRedispatchedMs)} ms  (kill -> all: ${fmt(r.killToAllRedispatchedMs)} ms)`,
        `restart -> ready line                   ${fmt(r.restartToReadyMs)} ms; "recovery done" ms=${r.recoveryLogMs ?? '?'} recovered=${r.recovered ?? '?'} inDoubt=${r.inDoubt ?? '?'}`,
        `coordinator RSS                         ${fmt(r.coordinatorRssWithCallsInFlightMiB, 1)} MiB before the kill, ${fmt(r.restartedCoordinatorRssMiB, 1)} MiB after recovery (peak ${fmt(r.restartedCoordinatorPeakRssMiB, 1)})`,
        '',
      ].join('\n'),
    );
    return out;
  } finally {
    drive?.kill();
    // Participants first: the held calls then fail at once and the coordinator
    // drains quickly and exits normally (which is when --cpu-prof writes its profile).
    await Promise.all(participants.map((p) => p.stop()));
    await coordinator?.stop(30_000);
  }
}
