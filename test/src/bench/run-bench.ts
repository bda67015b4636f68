#!/usr/bin/env node
// `npm run bench`: measures the coordinator. Starts the coordinator (SQLite,
// durable defaults) and no-op participant processes, drives N-step sagas from
// separate load processes at a fixed concurrency or a fixed offered rate,
// shows progress every second, then prints sagas/s, saga latency percentiles,
// the coordinator's CPU time per saga and its peak RSS, and writes the same as
// JSON. Other scenarios: --scenario parked (RSS with sagas parked on retry
// backoff), --scenario recovery (kill -9 with sagas in flight, time to resume)
// and --scenario deadlines (RSS after sagas with a long deadline finished).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SagaState, StartSagaRequest } from '@saga/proto';
import { Args } from './args.js';
import { participantCounters, startBenchCoordinator, startNoopParticipant, type BenchProcess } from './bench-process.js';
import { cpuOf, fmt, log, quietFirst, startParticipants, startSaga, until, type Common } from './common.js';
import { Drive, split } from './drive.js';
import { round, summarize } from './histogram.js';
import { buildRequest, type WorkerConfig } from './worker-protocol.js';
import { prefillFinishedSagas } from './prefill.js';
import { boxCpuMs, cpuTimeMs, machine, memory, processTreeCpuMs } from './proc-stats.js';
import { runCalibrate } from './scenario-calibrate.js';
import { runDeadlines } from './scenario-deadlines.js';
import { runParked } from './scenario-parked.js';
import { runRecovery } from './scenario-recovery.js';
import { runRecoveryParked } from './scenario-recovery-parked.js';
import { startPostgresCluster, type PostgresCluster } from '@saga/coordinator/testing';
import pg from 'pg';
import { queryDb } from '../support/sqlite-inspect.js';

const HELP = `npm run bench -- [flags]

Scenarios (--scenario):
  throughput (default)  drive sagas and measure sagas/s, latency, CPU per saga, RSS
  parked                start --sagas sagas against a participant answering UNAVAILABLE with
                        long retry backoffs; report the coordinator's RSS with them all parked
  recovery              start --sagas sagas against a participant that holds every call, kill -9
                        the coordinator, restart it, and time until every saga is re-dispatched
  deadlines             run --sagas sagas (default 200000) to completion twice, without a deadline and
                        with a 1 h one; compare the coordinator's RSS once each run has settled
  calibrate             what the machine allows now: grpc-js unary calls/s, fdatasync/s, SQLite
                        transactions/s, and a minimal 3-step saga loop (no coordinator)

Common flags:
  --steps N             steps per saga (default 3)
  --participants N      no-op participant processes; step i goes to participant i mod N (default 1)
  --payload BYTES       payload of every step (default 64)
  --sync FULL|NORMAL|OFF  the coordinator's SQLite synchronous mode (default FULL, the shipped default)
  --node-args="ARGS"    extra node arguments for the coordinator (e.g. --node-args="--max-old-space-size=512")
  --cpu-prof            profile the coordinator (node --cpu-prof); the .cpuprofile path is printed
  --log-level LEVEL     the coordinator's log level (default info, the shipped default)
  --json PATH           also write the results as JSON
  --dir PATH            working directory (default: a fresh temporary one, removed unless --keep)
  --keep                keep the working directory (databases, profiles)
  --wait-quiet S        first wait up to S seconds for other processes to leave the CPUs
                        alone (default 120); throughput reports what other work ran anyway

Throughput flags:
  --concurrency N       closed loop: N sagas in flight (default 128)
  --rate N              open loop instead: offer N sagas/s; latency counts from when each was due
  --duration S          measured seconds (default 20)
  --warmup S            unmeasured seconds first (default 3)
  --clients N           load-driving processes (default 2)
  --channels N          gRPC connections per load process (default 2)
  --driver lean|grpc-js the load processes' client: a lean node:http2 one (default: it leaves
                        the CPUs to the coordinator) or grpc-js
  --wait-ms MS          StartSaga wait_ms: the answer carries the outcome (default 30000;
                        0 = fire and forget: then latency is StartSaga's only)
  --store sqlite|postgres  the coordinator's store (default sqlite); postgres starts a PostgreSQL
                        cluster of its own (fsync on, in a temp dir) and reports its CPU per
                        saga too (the server shares this machine's cores)
  --coordinators N      with --store postgres: N coordinators on the one database, the load
                        processes spread over them (default 1); CPU per saga sums them; with
                        N >= 2 also the failover time: --failover-sagas sagas held in flight on
                        the first coordinator, kill -9 of it, until another re-sent them all
  --failover-sagas N    sagas in flight on the killed coordinator (default 200)
  --prefill N           insert N finished sagas into the database before measuring (sqlite only)
  --participant-transport http2|grpc-js|ab
                        the coordinator's client to participants: the lean node:http2 channel
                        (default), grpc-js tuned alike (channelz off, same keepalive), or ab:
                        --ab-rounds pairs of runs alternating the two, then their coordinator
                        CPU per saga side by side (measure on a quiet machine)
  --ab-rounds N         pairs of runs for --participant-transport ab (default 3)

Scenario flags (parked, recovery, deadlines):
  --sagas N             sagas to start (default 100000)
  --concurrency N       StartSaga calls in flight while starting them (default 256)
  --settle S            parked, deadlines, recovery --waiting backoff: seconds to wait once all are parked (finished) before
                        reading RSS (default 30)
  --deadline-ms MS      deadlines: the saga deadline of the second run (default 3600000)
  --timeout S           recovery: give up waiting for the re-dispatches after S seconds (default 300)
  --participant-impl I  recovery: the holding participant's server, http2 (bare, default) or grpc-js
  --waiting W           recovery: what the sagas wait on at the kill: call (a held Execute, all in
                        doubt; default) or backoff (a retry backoff of up to 1 h, nothing in doubt)
Calibrate flags:
  --seconds S           seconds per measurement (default 5)
`;

async function main(): Promise<void> {
  const args = new Args(process.argv.slice(2));
  if (args.has('help')) {
    process.stdout.write(HELP);
    return;
  }
  const scenario = args.string('scenario', 'throughput');
  const keep = args.boolean('keep', false);
  const given = args.optionalString('dir');
  const dir = given ?? mkdtempSync(join(tmpdir(), 'saga-bench-'));
  mkdirSync(dir, { recursive: true });
  const nodeArgs = (args.optionalString('node-args') ?? '').split(/\s+/).filter(Boolean);
  if (args.boolean('cpu-prof', false)) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(dir, 'profiles')}`);
  const common: Common = {
    steps: args.number('steps', 3),
    participants: Math.max(1, args.number('participants', 1)),
    payload: args.number('payload', 64),
    sync: args.string('sync', 'FULL').toUpperCase(),
    nodeArgs,
    logLevel: args.string('log-level', 'info'),
    dir,
    json: args.optionalString('json'),
    quietS: args.number('wait-quiet', 120),
  };
  try {
    let result: Record<string, unknown>;
    if (scenario === 'throughput') result = await runThroughput(args, common);
    else if (scenario === 'parked') result = await runParked(args, common);
    else if (scenario === 'recovery') {
      const waiting = args.string('waiting', 'call');
      if (waiting === 'call') result = await runRecovery(args, common);
      else if (waiting === 'backoff') result = await runRecoveryParked(args, common);
      else throw new Error(`--waiting must be call or backoff, not "${waiting}"`);
    }
    else if (scenario === 'deadlines') result = await runDeadlines(args, common);
    else if (scenario === 'calibrate') result = await runCalibrate(args, common);
    else throw new Error(`--scenario must be throughput, parked, recovery, deadlines or calibrate, not "${scenario}"`);
    const report = { scenario, command: `npm run bench -- ${process.argv.slice(2).join(' ')}`, at: new Date().toISOString(), machine: machine(), ...result };
    if (common.json !== undefined) {
      writeFileSync(common.json, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`results written to ${common.json}\n`);
    }
    if (nodeArgs.some((a) => a === '--cpu-prof')) process.stdout.write(`cpu profiles in ${join(dir, 'profiles')}\n`);
  } finally {
    if (!keep && given === undefined && !nodeArgs.includes('--cpu-prof')) rmSync(dir, { recursive: true, force: true });
    else process.stdout.write(`working directory kept: ${dir}\n`);
  }
}

type TransportChoice = 'http2' | 'grpc-js';

async function runThroughput(args: Args, c: Common): Promise<Record<string, unknown>> {
  const choice = args.string('participant-transport', 'http2');
  const rounds = Math.max(1, args.number('ab-rounds', 3));
  if (choice === 'http2' || choice === 'grpc-js') return measureThroughput(args, c, choice, 'coordinator.db');
  if (choice !== 'ab') throw new Error(`--participant-transport must be http2, grpc-js or ab, not "${choice}"`);
  const cpu: Record<TransportChoice, number[]> = { http2: [], 'grpc-js': [] };
  const runs: Record<string, unknown>[] = [];
  for (let i = 1; i <= rounds; i++) {
    for (const t of ['http2', 'grpc-js'] as const) {
      log(`A/B round ${i}/${rounds}: participant transport ${t}`);
      const run = await measureThroughput(args, c, t, `coordinator-${i}-${t}.db`);
      cpu[t].push((run.results as { coordinatorCpuMsPerSaga: number }).coordinatorCpuMsPerSaga);
      runs.push({ round: i, participantTransport: t, ...run });
    }
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  const lean = median(cpu.http2);
  const grpcJs = median(cpu['grpc-js']);
  const saving = grpcJs > 0 ? (grpcJs - lean) / grpcJs : 0;
  process.stdout.write(
    [
      '== A/B: coordinator CPU per saga by participant transport (medians of the rounds)',
      `lean http2 channel           ${fmt(lean, 3)} ms  (runs: ${cpu.http2.map((x) => fmt(x, 3)).join(', ')})`,
      `grpc-js, tuned alike         ${fmt(grpcJs, 3)} ms  (runs: ${cpu['grpc-js'].map((x) => fmt(x, 3)).join(', ')})`,
      `the lean channel saves       ${fmt(saving * 100, 1)} % of the coordinator's CPU per saga`,
      'Only figures from a quiet machine count (see "other processes" above each run).',
      '',
    ].join('\n'),
  );
  return { abRounds: rounds, coordinatorCpuMsPerSaga: { http2: round(lean, 3), grpcJs: round(grpcJs, 3) }, leanSavingShare: round(saving, 4), runs };
}

async function measureThroughput(args: Args, c: Common, transport: TransportChoice, dbName: string): Promise<Record<string, unknown>> {
  const rate = args.optionalNumber('rate');
  const concurrency = args.number('concurrency', 128);
  const duration = args.number('duration', 20);
  const warmup = args.number('warmup', 3);
  const clients = Math.max(1, args.number('clients', 2));
  const channels = Math.max(1, args.number('channels', 2));
  const waitMs = args.number('wait-ms', 30_000);
  const driver = args.string('driver', 'lean');
  if (driver !== 'lean' && driver !== 'grpc-js') throw new Error(`--driver must be lean or grpc-js, not "${driver}"`);
  const prefill = args.number('prefill', 0);
  const store = args.string('store', 'sqlite');
  if (store !== 'sqlite' && store !== 'postgres') throw new Error(`--store must be sqlite or postgres, not "${store}"`);
  if (store === 'postgres' && prefill > 0) throw new Error('--prefill writes a SQLite file: use it with --store sqlite');
  const coordinatorCount = Math.max(1, args.number('coordinators', 1));
  if (coordinatorCount > 1 && store !== 'postgres') throw new Error('--coordinators N > 1 needs --store postgres (one SQLite file has one coordinator)');
  const failoverSagas = Math.max(1, args.number('failover-sagas', 200));
  args.rejectUnknown();

  const cluster: PostgresCluster | undefined = store === 'postgres' ? await startPostgresCluster({ fsync: true }) : undefined;
  const db = cluster === undefined ? join(c.dir, dbName) : await cluster.createDatabase(dbName);
  const { procs: participants, registry } = await startParticipants(c.participants, 'ok');
  // Several coordinators: a participant holding every call keeps the failover's sagas in flight.
  const holder = coordinatorCount > 1 ? await startNoopParticipant(FAILOVER_PARTICIPANT, 'hold') : undefined;
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
    for (let i = 0; i < coordinatorCount; i++) {
      cos.push(
        await startBenchCoordinator({
          db,
          participants: registry,
          synchronous: c.sync,
          nodeArgs: c.nodeArgs,
          logLevel: c.logLevel,
          env: { SAGA_PARTICIPANT_TRANSPORT: transport },
        }),
      );
    }
    const co = cos[0] as BenchProcess;
    const coCpu = (): number => cos.reduce((sum, p) => sum + cpuTimeMs(p.pid), 0);
    const coRss = (): number => cos.reduce((sum, p) => sum + memory(p.pid).rssMiB, 0);
    log(
      `${cos.length > 1 ? `${cos.length} coordinators, pids ${cos.map((p) => p.pid).join(', ')}` : `coordinator pid ${co.pid} at ${co.address}`} (synchronous=${c.sync}); ${c.participants} no-op participant(s); ` +
        `${c.steps}-step sagas, ${c.payload}-byte payloads; ` +
        (rate !== undefined ? `open loop at ${fmt(rate)} sagas/s` : `closed loop, ${concurrency} in flight`) +
        `; ${clients} load process(es) x ${channels} connection(s); participant transport ${transport}; warmup ${warmup} s, measuring ${duration} s`,
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
    );
    drives.push(drive);

    // Progress every second, and CPU readings at the window's edges.
    const partPids = participants.map((p) => p.pid);
    const lastCpu = new Map<number, number>();
    interface Reading {
      co: number;
      /** The PostgreSQL server and its backends (0 with SQLite). */
      pg: number;
      parts: number;
      drivers: number;
      self: number;
      box: number;
      t: number;
    }
    let windowCpu: Reading | undefined;
    let windowEnd: Reading | undefined;
    const readAll = (): Reading => ({
      co: coCpu(),
      pg: cluster === undefined ? 0 : processTreeCpuMs(cluster.pid),
      parts: cpuOf(partPids, lastCpu),
      drivers: cpuOf(drive.pids, lastCpu),
      self: cpuTimeMs(process.pid),
      box: boxCpuMs().busyMs,
      t: Date.now(),
    });
    const edgeTimers = [
      setTimeout(() => (windowCpu = readAll()), measureFrom - Date.now()),
      setTimeout(() => (windowEnd = readAll()), measureTo - Date.now()),
    ];
    let prev = { completed: 0, cpu: coCpu(), t: Date.now() };
    const ticker = setInterval(() => {
      const s = drive.snapshot();
      const now = Date.now();
      const cpu = coCpu();
      const lat = summarize(drive.takeLatencies());
      const secs = (now - startAt) / 1000;
      const phase = now < measureFrom ? 'warmup' : now < measureTo ? 'measure' : 'drain';
      log(
        `[${fmt(secs, 0).padStart(4)} s ${phase.padEnd(7)}] ${fmt(((s.completed - prev.completed) * 1000) / (now - prev.t)).padStart(6)} sagas/s` +
          `  p50 ${fmt(lat.p50, 1).padStart(6)} ms  p99 ${fmt(lat.p99, 1).padStart(7)} ms  in flight ${fmt(s.outstanding).padStart(6)}` +
          `  coordinator CPU ${fmt(((cpu - prev.cpu) * 100) / (now - prev.t)).padStart(3)} %  RSS ${fmt(coRss())} MiB` +
          (s.errors + s.notCompleted + s.skipped > 0 ? `  errors ${s.errors} not-completed ${s.notCompleted} not-offered ${s.skipped}` : '') +
          (s.shed > 0 ? `  shed ${fmt(s.shed)}` : ''),
      );
      prev = { completed: s.completed, cpu, t: now };
    }, 1000);
    let result;
    try {
      result = await drive.done;
    } finally {
      clearInterval(ticker);
      edgeTimers.forEach(clearTimeout);
    }
    const mem = { rssMiB: coRss(), peakRssMiB: Math.max(...cos.map((p) => memory(p.pid).peakRssMiB)) };
    const a = windowCpu;
    const b = windowEnd;
    if (a === undefined || b === undefined) throw new Error('the measurement window did not complete');
    const lat = summarize(result.windowLatencies);
    const n = result.windowCompleted;
    const wallMs = b.t - a.t;
    const ours = b.co - a.co + (b.pg - a.pg) + (b.parts - a.parts) + (b.drivers - a.drivers) + (b.self - a.self);
    const otherCores = Math.max(0, (b.box - a.box - ours) / wallMs);
    if (process.env.BENCH_DEBUG) log(JSON.stringify({ a, b, wallMs }));
    const failoverMs = holder === undefined ? undefined : await measureFailover(cos, holder, failoverSagas);
    // The holder first: its held calls then fail at once instead of waiting out the coordinators' drain.
    await holder?.stop();
    for (const p of cos) await p.stop();
    const states = prefill > 0 ? [] : await sagaStates(db);
    const out = {
      params: { store, coordinators: cos.length, steps: c.steps, participants: c.participants, payloadBytes: c.payload, synchronous: c.sync, mode: rate !== undefined ? 'open' : 'closed', concurrency: rate === undefined ? concurrency : undefined, offeredRate: rate, durationS: duration, warmupS: warmup, clients, channels, driver, waitMs, prefill, participantTransport: transport, coordinatorNodeArgs: c.nodeArgs },
      results: {
        sagasPerSecond: round(n / duration, 1),
        completedInWindow: n,
        latencyMs: { p50: round(lat.p50), p95: round(lat.p95), p99: round(lat.p99), max: round(lat.max), mean: round(lat.mean) },
        coordinatorCpuMsPerSaga: round((b.co - a.co) / n, 3),
        coordinatorCpuUtilization: round((b.co - a.co) / wallMs, 3),
        postgresCpuMsPerSaga: cluster === undefined ? undefined : round((b.pg - a.pg) / n, 3),
        participantCpuMsPerSaga: round((b.parts - a.parts) / n, 3),
        driverCpuMsPerSaga: round((b.drivers - a.drivers) / n, 3),
        boxCpuUtilizationCores: round((b.box - a.box) / wallMs, 2),
        otherProcessesCpuCores: round(otherCores, 2),
        otherProcessesCpuCoresBeforeStart: busyBefore,
        coordinatorPeakRssMiB: round(mem.peakRssMiB, 1),
        failoverMs,
        failoverSagas: failoverMs === undefined ? undefined : failoverSagas,
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
      },
    };
    const r = out.results;
    process.stdout.write(
      [
        '',
        `== ${store} store${cos.length > 1 ? ` x ${cos.length} coordinators` : ''}, ${c.steps}-step sagas, ${rate !== undefined ? `offered ${fmt(rate)}/s` : `concurrency ${concurrency}`}, synchronous=${c.sync}${prefill > 0 ? `, ${fmt(prefill)} finished sagas retained` : ''}`,
        `sagas/s                      ${fmt(r.sagasPerSecond, 1)}  (${fmt(n)} completed in ${duration} s)`,
        `saga latency ms              p50 ${fmt(r.latencyMs.p50, 2)}  p95 ${fmt(r.latencyMs.p95, 2)}  p99 ${fmt(r.latencyMs.p99, 2)}  max ${fmt(r.latencyMs.max, 1)}`,
        `coordinator CPU per saga     ${fmt(r.coordinatorCpuMsPerSaga, 3)} ms  (${fmt(r.coordinatorCpuUtilization * 100)} % of one core)`,
        r.postgresCpuMsPerSaga !== undefined ? `PostgreSQL CPU per saga      ${fmt(r.postgresCpuMsPerSaga, 3)} ms  (server and backends)` : '',
        `participant / driver CPU     ${fmt(r.participantCpuMsPerSaga, 3)} / ${fmt(r.driverCpuMsPerSaga, 3)} ms per saga`,
        `coordinator peak RSS         ${fmt(r.coordinatorPeakRssMiB, 1)} MiB${cos.length > 1 ? ' (the largest)' : ''}`,
        r.failoverMs !== undefined
          ? `failover                     ${fmt(r.failoverMs)} ms from kill -9 of the owner until its ${fmt(failoverSagas)} in-flight sagas were re-sent elsewhere (default lease 5000 ms)`
          : '',
        `machine CPU in use           ${fmt(r.boxCpuUtilizationCores, 2)} cores, of which other processes ${fmt(r.otherProcessesCpuCores, 2)}${r.otherProcessesCpuCores > 0.3 ? '  ** DISTURBED: other work ran during the measurement **' : ''}`,
        `errors / not completed / not offered   ${r.errors} / ${r.notCompleted} / ${r.notOffered}${r.errorSamples.length > 0 ? `  e.g. ${r.errorSamples[0]}` : ''}`,
        `shed (RESOURCE_EXHAUSTED)    ${fmt(r.shed)}  (${fmt(r.shedShareOfOffered * 100, 2)} % of StartSaga calls${rate === undefined ? '; closed loop retries them with backoff' : ''})`,
        states.length > 0 ? `sagas in the database        ${states.map((s) => `${s.state} ${fmt(s.n)}`).join(', ')}` : '',
        '',
      ].join('\n'),
    );
    return out;
  } finally {
    for (const d of drives) d.kill();
    for (const p of cos) await p.stop();
    await holder?.stop();
    await Promise.all(participants.map((p) => p.stop()));
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

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
