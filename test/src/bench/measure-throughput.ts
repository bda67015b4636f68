// One throughput measurement: a fresh coordinator (and database), no-op
// participants, load processes in closed loop (N in flight) or open loop (an
// offered rate), progress every second, then the window's figures: sagas/s,
// latency, shed, CPU per saga (the coordinator in all, its main thread, its
// other threads by name), where the time went inside the coordinator (its
// metrics), peak RSS, and what else used the machine.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { SagaState, StartSagaRequest } from '@saga/proto';
import { startPostgresCluster, type PostgresCluster } from '@saga/coordinator/testing';
import pg from 'pg';
import type { Args } from './args.js';
import { participantCounters, pinProcess, startBenchCoordinator, startNoopParticipant, type BenchProcess } from './bench-process.js';
import { cpuOf, fmt, log, quietFirst, startParticipants, startSaga, until, type Common } from './common.js';
import { scrapeMetrics, timingLines, windowTimings, type Scrape, type WindowTimings } from './coordinator-timings.js';
import { Drive, split } from './drive.js';
import { round, summarize } from './histogram.js';
import { perfLines, recordPerf, summarizePerf, type PerfThread } from './perf-threads.js';
import { prefillFinishedSagas } from './prefill.js';
import { boxCpuMs, cpuTimeMs, memory, processTreeCpuMs, threadCpuMs } from './proc-stats.js';
import { buildRequest, type WorkerConfig } from './worker-protocol.js';
import { queryDb } from '../support/sqlite-inspect.js';

/** participantTransport.implementation of the coordinator under test. */
export type TransportChoice = 'frames' | 'http2' | 'grpc-js';
export const TRANSPORT_CHOICES: readonly TransportChoice[] = ['frames', 'http2', 'grpc-js'];
export const isTransportChoice = (s: string): s is TransportChoice => (TRANSPORT_CHOICES as readonly string[]).includes(s);

/** With --pin: the coordinator on one CPU, everything else (participants, load, this process) on the other. */
export const PIN = { coordinator: '1', others: '0' } as const;

export interface ThroughputParams {
  /** Open loop: offered sagas/s; undefined = closed loop at `concurrency`. */
  readonly rate: number | undefined;
  readonly concurrency: number;
  readonly durationS: number;
  readonly warmupS: number;
  readonly clients: number;
  readonly channels: number;
  readonly waitMs: number;
  readonly driver: 'lean' | 'grpc-js';
  readonly prefill: number;
  readonly store: 'sqlite' | 'postgres';
  readonly pin: boolean;
  /** Record the coordinator's threads with Linux perf over the measured window (on-CPU time per thread). */
  readonly perf: boolean;
  readonly transport: TransportChoice;
  /** Extra environment of the coordinator (e.g. SAGA_PARTICIPANT_TRANSPORT_THREAD=worker). */
  readonly coordinatorEnv: Readonly<Record<string, string>>;
  /** Another coordinator build's main.js (a baseline); default this repository's. */
  readonly coordinatorMain?: string;
  /** With store postgres: coordinators on the one database (the load spread over them); ≥ 2 also measures failover. */
  readonly coordinators: number;
  /** Sagas held in flight on the killed coordinator of the failover measurement. */
  readonly failoverSagas: number;
}

/** Reads the throughput flags (call args.rejectUnknown() after). */
export function throughputParams(args: Args): Omit<ThroughputParams, 'transport'> {
  const driver = args.string('driver', 'lean');
  if (driver !== 'lean' && driver !== 'grpc-js') throw new Error(`--driver must be lean or grpc-js, not "${driver}"`);
  const store = args.string('store', 'sqlite');
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`--store must be sqlite or postgres, not "${store}"`);
  const prefill = args.number('prefill', 0);
  if (store === 'postgres' && prefill > 0) throw new Error('--prefill writes a SQLite file: use it with --store sqlite');
  const coordinators = Math.max(1, args.number('coordinators', 1));
  if (coordinators > 1 && store !== 'postgres') throw new Error('--coordinators N > 1 needs --store postgres (one SQLite file has one coordinator)');
  const failoverSagas = Math.max(1, args.number('failover-sagas', 200));
  const coordinatorEnv: Record<string, string> = {};
  for (const pair of (args.optionalString('coordinator-env') ?? '').split(',').filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--coordinator-env: "${pair}" is not NAME=value`);
    coordinatorEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return {
    rate: args.optionalNumber('rate'),
    concurrency: args.number('concurrency', 128),
    durationS: args.number('duration', 20),
    warmupS: args.number('warmup', 3),
    clients: Math.max(1, args.number('clients', 2)),
    channels: Math.max(1, args.number('channels', 2)),
    waitMs: args.number('wait-ms', 30_000),
    driver,
    prefill,
    store,
    pin: args.boolean('pin', false),
    perf: args.boolean('perf', false),
    coordinatorEnv,
    coordinators,
    failoverSagas,
  };
}

export interface ThroughputResults {
  readonly sagasPerSecond: number;
  readonly completedInWindow: number;
  readonly latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** All of the coordinator's threads. */
  readonly coordinatorCpuMsPerSaga: number;
  /** Its main thread (the event loop) alone. */
  readonly mainThreadCpuMsPerSaga: number;
  /** Its other threads (the libuv pool that runs SQLite, V8's GC/JIT helpers, worker threads). */
  readonly otherThreadsCpuMsPerSaga: number;
  readonly coordinatorCpuUtilization: number;
  readonly mainThreadCpuUtilization: number;
  /** StartSaga calls sent in the window (retries included), of which refused with RESOURCE_EXHAUSTED. */
  readonly windowAttempts: number;
  readonly windowShed: number;
  readonly windowShedShare: number;
  readonly timings: WindowTimings | undefined;
  /** With --perf: on-CPU µs per saga of each coordinator thread. */
  readonly perfThreads: readonly PerfThread[] | undefined;
  readonly [key: string]: unknown;
}

export interface ThroughputRun {
  readonly params: Record<string, unknown>;
  readonly results: ThroughputResults;
}

export async function measureThroughput(p: ThroughputParams, c: Common, dbName: string): Promise<ThroughputRun> {
  const { rate, concurrency, durationS: duration, warmupS: warmup, clients, channels, waitMs, driver, prefill, store, transport } = p;
  const cluster: PostgresCluster | undefined = store === 'postgres' ? await startPostgresCluster({ fsync: true }) : undefined;
  const db = cluster === undefined ? join(c.dir, dbName) : await cluster.createDatabase(dbName);
  const othersCpus = p.pin ? PIN.others : undefined;
  if (othersCpus !== undefined) pinProcess(process.pid, othersCpus);
  const { procs: participants, registry } = await startParticipants(c.participants, 'ok', 200, c.participantServer, othersCpus);
  // Several coordinators: a participant holding every call keeps the failover's sagas in flight.
  const holder = p.coordinators > 1 ? await startNoopParticipant(FAILOVER_PARTICIPANT, 'hold', 200, 'grpc-js', othersCpus) : undefined;
  if (holder !== undefined) registry[FAILOVER_PARTICIPANT] = holder.address;
  const cos: BenchProcess[] = [];
  const drives: Drive[] = [];
  try {
    if (prefill > 0) {
      // A real finished saga as the template of the copies.
      const setup = await startBenchCoordinator({ db, participants: registry, synchronous: 'NORMAL', logLevel: 'warn' });
      const answer = await startSaga(setup.address, buildRequest({ steps: c.steps, participants: c.participants, payloadBytes: c.payload, waitMs: 10_000, retry: undefined }));
      if (answer.state !== SagaState.SAGA_STATE_COMPLETED) throw new Error(`prefill template saga did not complete: ${JSON.stringify(answer)}`);
      await setup.stop();
      const t0 = Date.now();
      await prefillFinishedSagas(db, prefill, { ageMs: 3_600_000, maxOutbox: 100_000 }, (done) =>
        log(`prefill: ${fmt(done)} / ${fmt(prefill)} finished sagas (${fmt((Date.now() - t0) / 1000, 1)} s)`),
      );
    }
    // Other work on this machine would be measured too: wait for it to stop (bounded).
    const busyBefore = await quietFirst(c.quietS);
    // The first coordinator's metrics are scraped (its timings are reported with one coordinator only); port 0, read back from its ready line.
    for (let i = 0; i < p.coordinators; i++) {
      cos.push(
        await startBenchCoordinator({
          db,
          participants: registry,
          synchronous: c.sync,
          // JS function names for perf (node writes /tmp/perf-PID.map); V8's log, which the flag
          // turns on, goes to the working directory instead of isolate-*.log files in the cwd.
          nodeArgs: p.perf && i === 0 ? [...c.nodeArgs, '--perf-basic-prof', '--no-logfile-per-isolate', `--logfile=${join(c.dir, 'v8.log')}`] : c.nodeArgs,
          logLevel: c.logLevel,
          cpus: p.pin ? PIN.coordinator : undefined,
          main: p.coordinatorMain,
          env: { SAGA_PARTICIPANT_TRANSPORT: transport, ...(i === 0 ? { SAGA_METRICS_LISTEN: '127.0.0.1:0' } : {}), ...p.coordinatorEnv },
        }),
      );
    }
    const co = cos[0] as BenchProcess;
    const metricsAddress = co.endpoint('metrics');
    const coCpu = (): number => cos.reduce((sum, x) => sum + cpuTimeMs(x.pid), 0);
    const coThreads = (): { main: number; total: number } =>
      cos.reduce(
        (sum, x) => {
          const t = threadCpuMs(x.pid);
          return { main: sum.main + t.main, total: sum.total + t.total };
        },
        { main: 0, total: 0 },
      );
    const coRss = (): number => cos.reduce((sum, x) => sum + memory(x.pid).rssMiB, 0);
    log(
      `${cos.length > 1 ? `${cos.length} coordinators, pids ${cos.map((x) => x.pid).join(', ')}` : `coordinator pid ${co.pid} at ${co.address}`} (synchronous=${c.sync}); ${c.participants} no-op participant(s) on ${c.participantServer}; ` +
        `${c.steps}-step sagas, ${c.payload}-byte payloads; ` +
        (rate !== undefined ? `open loop at ${fmt(rate)} sagas/s` : `closed loop, ${concurrency} in flight`) +
        `; ${clients} load process(es) x ${channels} connection(s); participant transport ${transport}; warmup ${warmup} s, measuring ${duration} s` +
        (p.pin ? `; pinned: coordinator on CPU ${PIN.coordinator}, participants and load on CPU ${PIN.others}` : ''),
    );

    const startAt = Date.now() + 300;
    const measureFrom = startAt + warmup * 1000;
    const measureTo = measureFrom + duration * 1000;
    const base: Omit<WorkerConfig, 'concurrency' | 'rate'> = {
      address: co.address,
      mode: rate !== undefined ? 'open' : 'closed',
      maxOutstanding: 50_000,
      steps: c.steps,
      participants: c.participants,
      payloadBytes: c.payload,
      waitMs,
      startAt,
      measureFrom,
      measureTo,
      stopAt: measureTo,
      total: 0,
      channels,
      driver,
      retry: undefined,
    };
    // At least one load process per coordinator, each driving one of them.
    const workers = Math.max(clients, cos.length);
    const conc = split(concurrency, workers);
    const drive = new Drive(
      Array.from({ length: workers }, (_, i) => ({
        ...base,
        address: (cos[i % cos.length] as BenchProcess).address,
        concurrency: conc[i] ?? 0,
        rate: (rate ?? 0) / workers,
      })),
      othersCpus,
    );
    drives.push(drive);

    // Progress every second, and CPU readings and metrics at the window's edges.
    const partPids = participants.map((x) => x.pid);
    const lastCpu = new Map<number, number>();
    interface Reading {
      co: number;
      threads: ReturnType<typeof threadCpuMs>;
      /** The PostgreSQL server and its backends (0 with SQLite). */
      pg: number;
      parts: number;
      drivers: number;
      self: number;
      box: number;
      steal: number;
      t: number;
      scrape: Promise<Scrape | undefined>;
    }
    let windowCpu: Reading | undefined;
    let windowEnd: Reading | undefined;
    const scrape = (): Promise<Scrape | undefined> =>
      scrapeMetrics(metricsAddress).catch((err: unknown) => {
        log(`scraping the coordinator's metrics failed: ${(err as Error).message}`);
        return undefined;
      });
    const readAll = (): Reading => {
      const box = boxCpuMs();
      return {
        co: coCpu(),
        threads: coThreads(),
        pg: cluster === undefined ? 0 : processTreeCpuMs(cluster.pid),
        parts: cpuOf(partPids, lastCpu),
        drivers: cpuOf(drive.pids, lastCpu),
        self: cpuTimeMs(process.pid),
        box: box.busyMs,
        steal: box.stealMs,
        t: Date.now(),
        scrape: scrape(),
      };
    };
    let perfRecording: Promise<void> | undefined;
    const perfFile = join(c.dir, 'perf.data');
    const edgeTimers = [
      setTimeout(() => {
        windowCpu = readAll();
        if (p.perf) {
          perfRecording = recordPerf(co.pid, perfFile, duration);
          // Awaited after the run; a failure is reported there.
          perfRecording.catch(() => undefined);
        }
      }, measureFrom - Date.now()),
      setTimeout(() => (windowEnd = readAll()), measureTo - Date.now()),
    ];
    let prev = { completed: 0, shed: 0, cpu: coCpu(), main: coThreads().main, t: Date.now() };
    const ticker = setInterval(() => {
      const s = drive.snapshot();
      const now = Date.now();
      const cpu = coCpu();
      const main = coThreads().main;
      const lat = summarize(drive.takeLatencies());
      const secs = (now - startAt) / 1000;
      const phase = now < measureFrom ? 'warmup' : now < measureTo ? 'measure' : 'drain';
      log(
        `[${fmt(secs, 0).padStart(4)} s ${phase.padEnd(7)}] ${fmt(((s.completed - prev.completed) * 1000) / (now - prev.t)).padStart(6)} sagas/s` +
          `  p50 ${fmt(lat.p50, 1).padStart(6)} ms  p99 ${fmt(lat.p99, 1).padStart(7)} ms  in flight ${fmt(s.outstanding).padStart(6)}` +
          `  coordinator CPU ${fmt(((cpu - prev.cpu) * 100) / (now - prev.t)).padStart(3)} % (main thread ${fmt(((main - prev.main) * 100) / (now - prev.t)).padStart(3)} %)` +
          `  RSS ${fmt(coRss())} MiB` +
          (s.errors + s.notCompleted + s.skipped > 0 ? `  errors ${s.errors} not-completed ${s.notCompleted} not-offered ${s.skipped}` : '') +
          (s.shed > prev.shed ? `  shed ${fmt(s.shed - prev.shed)} (total ${fmt(s.shed)})` : ''),
      );
      prev = { completed: s.completed, shed: s.shed, cpu, main, t: now };
    }, 1000);
    let result;
    try {
      result = await drive.done;
    } finally {
      clearInterval(ticker);
      edgeTimers.forEach(clearTimeout);
    }
    // The drive's own clock can end the window a moment before its timer here fires (seen at 50 sagas/s).
    if (windowEnd === undefined && windowCpu !== undefined && Date.now() >= measureTo - 100) windowEnd = readAll();
    const mem = { rssMiB: coRss(), peakRssMiB: Math.max(...cos.map((x) => memory(x.pid).peakRssMiB)) };
    const a = windowCpu;
    const b = windowEnd;
    if (a === undefined || b === undefined) throw new Error('the measurement window did not complete');
    const lat = summarize(result.windowLatencies);
    const n = result.windowCompleted;
    const wallMs = b.t - a.t;
    const ours = b.co - a.co + (b.pg - a.pg) + (b.parts - a.parts) + (b.drivers - a.drivers) + (b.self - a.self);
    const otherCores = Math.max(0, (b.box - a.box - ours) / wallMs);
    const stealCores = Math.max(0, (b.steal - a.steal) / wallMs);
    const [scrapeA, scrapeB] = await Promise.all([a.scrape, b.scrape]);
    const timings = scrapeA !== undefined && scrapeB !== undefined && cos.length === 1 ? windowTimings(scrapeA, scrapeB, n, wallMs) : undefined;
    const mainMs = b.threads.main - a.threads.main;
    const otherThreadsMs = b.threads.total - b.threads.main - (a.threads.total - a.threads.main);
    if (process.env.BENCH_DEBUG) log(JSON.stringify({ a: { ...a, scrape: undefined }, b: { ...b, scrape: undefined }, wallMs }));
    let perfThreads: PerfThread[] | undefined;
    if (perfRecording !== undefined) {
      await perfRecording;
      perfThreads = await summarizePerf(perfFile, co.pid, n);
      rmSync(`/tmp/perf-${co.pid}.map`, { force: true });
    }
    const failoverMs = holder === undefined ? undefined : await measureFailover(cos, holder, p.failoverSagas);
    // The holder first: its held calls then fail at once instead of waiting out the coordinators' drain.
    await holder?.stop();
    for (const x of cos) await x.stop();
    const states = prefill > 0 ? [] : await sagaStates(db);
    const params = {
      store,
      coordinators: cos.length,
      steps: c.steps,
      participants: c.participants,
      payloadBytes: c.payload,
      synchronous: c.sync,
      mode: rate !== undefined ? 'open' : 'closed',
      concurrency: rate === undefined ? concurrency : undefined,
      offeredRate: rate,
      durationS: duration,
      warmupS: warmup,
      clients,
      channels,
      driver,
      waitMs,
      prefill,
      participantTransport: transport,
      pinned: p.pin,
      coordinatorEnv: p.coordinatorEnv,
      coordinatorMain: p.coordinatorMain,
      coordinatorNodeArgs: c.nodeArgs,
    };
    const results: ThroughputResults = {
      sagasPerSecond: round(n / duration, 1),
      completedInWindow: n,
      latencyMs: { p50: round(lat.p50), p95: round(lat.p95), p99: round(lat.p99), max: round(lat.max), mean: round(lat.mean) },
      coordinatorCpuMsPerSaga: round((b.co - a.co) / n, 3),
      mainThreadCpuMsPerSaga: round(mainMs / n, 3),
      otherThreadsCpuMsPerSaga: round(otherThreadsMs / n, 3),
      coordinatorCpuUtilization: round((b.co - a.co) / wallMs, 3),
      mainThreadCpuUtilization: round(mainMs / wallMs, 3),
      windowAttempts: result.windowAttempts,
      windowShed: result.windowShed,
      windowShedShare: round(result.windowShed / Math.max(1, result.windowAttempts), 5),
      timings,
      perfThreads,
      postgresCpuMsPerSaga: cluster === undefined ? undefined : round((b.pg - a.pg) / n, 3),
      participantCpuMsPerSaga: round((b.parts - a.parts) / n, 3),
      driverCpuMsPerSaga: round((b.drivers - a.drivers) / n, 3),
      boxCpuUtilizationCores: round((b.box - a.box) / wallMs, 2),
      otherProcessesCpuCores: round(otherCores, 2),
      hostStealCores: round(stealCores, 2),
      otherProcessesCpuCoresBeforeStart: busyBefore,
      coordinatorPeakRssMiB: round(mem.peakRssMiB, 1),
      failoverMs,
      failoverSagas: failoverMs === undefined ? undefined : p.failoverSagas,
      coordinatorRssAtEndMiB: round(mem.rssMiB, 1),
      started: result.started,
      completed: result.completed,
      errors: result.errors,
      notCompleted: result.notCompleted,
      notOffered: result.skipped,
      shed: result.shed,
      shedShareOfOffered: round(result.shed / Math.max(1, result.shed + result.started), 4),
      errorSamples: result.errorSamples,
      sagaStatesInDatabase: Object.fromEntries(states.map((r) => [r.state, r.n])),
    };
    const r = results;
    const disturbed = (r.otherProcessesCpuCores as number) > 0.3;
    process.stdout.write(
      [
        '',
        `== ${store} store${cos.length > 1 ? ` x ${cos.length} coordinators` : ''}, ${c.steps}-step sagas, ${rate !== undefined ? `offered ${fmt(rate)}/s` : `concurrency ${concurrency}`}, synchronous=${c.sync}${prefill > 0 ? `, ${fmt(prefill)} finished sagas retained` : ''}${p.pin ? ', pinned' : ''}`,
        `sagas/s                      ${fmt(r.sagasPerSecond, 1)}  (${fmt(n)} completed in ${duration} s)`,
        `saga latency ms              p50 ${fmt(r.latencyMs.p50, 2)}  p95 ${fmt(r.latencyMs.p95, 2)}  p99 ${fmt(r.latencyMs.p99, 2)}  max ${fmt(r.latencyMs.max, 1)}`,
        `coordinator CPU per saga     ${fmt(r.coordinatorCpuMsPerSaga, 3)} ms  (${fmt(r.coordinatorCpuUtilization * 100)} % of one core)`,
        `  main thread                ${fmt(r.mainThreadCpuMsPerSaga, 3)} ms  (${fmt(r.mainThreadCpuUtilization * 100)} % of one core)`,
        `  other threads              ${fmt(r.otherThreadsCpuMsPerSaga, 3)} ms  (SQLite's libuv pool, V8's GC/JIT helpers, worker threads)`,
        r.postgresCpuMsPerSaga !== undefined ? `PostgreSQL CPU per saga      ${fmt(r.postgresCpuMsPerSaga as number, 3)} ms  (server and backends)` : '',
        `participant / driver CPU     ${fmt(r.participantCpuMsPerSaga as number, 3)} / ${fmt(r.driverCpuMsPerSaga as number, 3)} ms per saga`,
        ...(timings === undefined ? [cos.length > 1 ? '(timings are reported with one coordinator only)' : '(no timings: the coordinator\'s metrics could not be read)'] : timingLines(timings, fmt)),
        ...(perfThreads === undefined ? [] : perfLines(perfThreads, fmt)),
        `coordinator peak RSS         ${fmt(r.coordinatorPeakRssMiB as number, 1)} MiB${cos.length > 1 ? ' (the largest)' : ''}`,
        failoverMs !== undefined
          ? `failover                     ${fmt(failoverMs)} ms from kill -9 of the owner until its ${fmt(p.failoverSagas)} in-flight sagas were re-sent elsewhere (default lease 5000 ms)`
          : '',
        `machine CPU in use           ${fmt(r.boxCpuUtilizationCores as number, 2)} cores, of which other processes ${fmt(r.otherProcessesCpuCores as number, 2)} (host steal ${fmt(r.hostStealCores as number, 2)})${disturbed ? '  ** DISTURBED: other work ran during the measurement **' : ''}`,
        `errors / not completed / not offered   ${result.errors} / ${result.notCompleted} / ${result.skipped}${result.errorSamples.length > 0 ? `  e.g. ${result.errorSamples[0]}` : ''}`,
        `shed (RESOURCE_EXHAUSTED)    in the window ${fmt(r.windowShed)} of ${fmt(r.windowAttempts)} StartSaga calls (${fmt(r.windowShedShare * 100, 2)} %); whole run ${fmt(result.shed)}${rate === undefined ? ' (closed loop retries them with backoff)' : ''}`,
        states.length > 0 ? `sagas in the database        ${states.map((s) => `${s.state} ${fmt(s.n)}`).join(', ')}` : '',
        '',
      ]
        .filter((l, i, all) => l !== '' || i === 0 || i === all.length - 1)
        .join('\n'),
    );
    return { params, results };
  } finally {
    for (const d of drives) d.kill();
    for (const x of cos) await x.stop();
    await holder?.stop();
    await Promise.all(participants.map((x) => x.stop()));
    await cluster?.stop();
  }
}

/** The participant holding the failover measurement's calls. */
const FAILOVER_PARTICIPANT = 'failover-hold';

/**
 * Failover time: `sagas` one-step sagas whose call `holder` holds, started on
 * the first coordinator; kill -9 of it; the time until another coordinator
 * claimed them all (its lease expired) and re-sent every held call.
 */
async function measureFailover(cos: readonly BenchProcess[], holder: BenchProcess, sagas: number): Promise<number> {
  const counters = participantCounters([holder]);
  const owner = cos[0] as BenchProcess;
  const request = StartSagaRequest.fromPartial({
    name: 'failover',
    steps: [{ name: 'held', participant: FAILOVER_PARTICIPANT, action: 'do', compensateAction: 'undo', payload: Buffer.alloc(8) }],
  });
  log(`failover: ${fmt(sagas)} sagas held in flight on coordinator pid ${owner.pid}`);
  for (let i = 0; i < sagas; i++) await startSaga(owner.address, request);
  if (!(await until(() => counters().held >= sagas, 60_000))) throw new Error(`failover: only ${counters().held} of ${sagas} calls reached the participant`);
  const before = counters().repeated;
  const t0 = Date.now();
  await owner.crash();
  if (!(await until(() => counters().repeated - before >= sagas, 120_000, 10))) {
    throw new Error(`failover: only ${counters().repeated - before} of ${sagas} calls were re-sent within 120 s`);
  }
  return Date.now() - t0;
}

/** Sagas per state in the coordinator's store (a SQLite file or a postgres:// URL). */
async function sagaStates(db: string): Promise<{ state: string; n: number }[]> {
  const sql = 'SELECT state, COUNT(*) AS n FROM sagas GROUP BY state';
  if (!db.startsWith('postgres://')) return queryDb<{ state: string; n: number }>(db, sql);
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    return (await client.query<{ state: string; n: string }>(sql)).rows.map((r) => ({ state: r.state, n: Number(r.n) }));
  } finally {
    await client.end();
  }
}
