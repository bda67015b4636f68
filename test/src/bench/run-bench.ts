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
import { Args } from './args.js';
import { fmt, log, type Common } from './common.js';
import type { ParticipantServer } from './bench-process.js';
import { round } from './histogram.js';
import { isTransportChoice, measureThroughput, throughputParams, TRANSPORT_CHOICES, type TransportChoice } from './measure-throughput.js';
import { machine } from './proc-stats.js';
import { runCalibrate } from './scenario-calibrate.js';
import { runCurve } from './scenario-curve.js';
import { runDeadlines } from './scenario-deadlines.js';
import { runParked } from './scenario-parked.js';
import { runRecovery } from './scenario-recovery.js';
import { runRecoveryParked } from './scenario-recovery-parked.js';

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

Latency curve (--curve):
  --curve               measure capacity closed-loop (--concurrency, default 384), then offer
                        10/30/50/70/80/90/100 % of it open-loop (--steps-pct to change), each on a
                        fresh coordinator; first the calibrate scenario; prints p50/p95/p99, shed,
                        CPU per saga (all threads and main thread) per step and which of issue 14's
                        targets are met, and writes the curve as SVG (--svg PATH, default
                        latency-curve.svg in the working directory; kept) and JSON (--json)
  --steps-pct LIST      the offered steps in % of capacity (default 10,30,50,70,80,90,100)
  --repeat N            measure each offered step N times, in N rounds of all steps (default 1): the run with the median p99
                        stands for the step, the shed targets must hold in every run, and the
                        table shows the p99 of each
  --svg PATH            where to write the curve's SVG
  --calibrate-seconds S seconds per calibrate measurement within --curve (default 5)
  --baseline-main PATH  also measure another coordinator build (its dist/main.js, e.g. the build
                        before issue 14) closed-loop: the baseline of the main-thread CPU target

Common flags:
  --steps N             steps per saga (default 3)
  --participants N      no-op participant processes; step i goes to participant i mod N (default 1)
  --payload BYTES       payload of every step (default 64)
  --sync FULL|NORMAL|OFF  the coordinator's SQLite synchronous mode (default FULL, the shipped default)
  --node-args="ARGS"    extra node arguments for the coordinator (e.g. --node-args="--max-old-space-size=512")
  --cpu-prof            profile the coordinator (node --cpu-prof); the .cpuprofile path is printed
                        (V8 samples wall-clock: time off the CPU is booked to the frame it was in)
  --log-level LEVEL     the coordinator's log level (default info, the shipped default)
  --json PATH           also write the results as JSON
  --dir PATH            working directory (default: a fresh temporary one, removed unless --keep)
  --keep                keep the working directory (databases, profiles)
  --wait-quiet S        first wait up to S seconds for other processes to leave the CPUs
                        alone (default 120); throughput reports what other work ran anyway
  --pin                 throughput, curve: run the coordinator on CPU 1 only, and the participants,
                        the load processes and this process on CPU 0 (taskset)
  --coordinator-env K=V[,K=V]  extra environment of the measured coordinator
  --perf                throughput: record the coordinator with Linux perf over the measured window
                        and print each thread's on-CPU µs per saga, kernel share and hottest
                        functions (needs perf; JS names from node --perf-basic-prof)

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
  --participant-server grpc-js|go
                        throughput, curve, calibrate: the no-op participant's server, grpc-js
                        (default; a TypeScript participant, whose mark-compacts pause it ~20 ms)
                        or grpc-go (participants/go/scripts/build.sh builds it)
  --participant-transport frames|http2|grpc-js|ab
                        the coordinator's client to participants: the lean channel on the
                        coordinator's own HTTP/2 frames (default), the lean channel on
                        node:http2, grpc-js tuned alike (channelz off, same keepalive), or ab:
                        --ab-rounds rounds of runs alternating the three, then their coordinator
                        CPU per saga side by side (measure on a quiet machine)
  --ab-rounds N         rounds of runs for --participant-transport ab (default 3)

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
    participantServer: participantServer(args.string('participant-server', 'grpc-js')),
  };
  try {
    let result: Record<string, unknown>;
    if (args.boolean('curve', false)) result = await runCurve(args, common);
    else if (scenario === 'throughput') result = await runThroughput(args, common);
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
    const report = { scenario: args.boolean('curve', false) ? 'curve' : scenario, command: `npm run bench -- ${process.argv.slice(2).join(' ')}`, at: new Date().toISOString(), machine: machine(), ...result };
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

function participantServer(v: string): ParticipantServer {
  if (v === 'grpc-js' || v === 'go') return v;
  throw new Error(`--participant-server must be grpc-js or go, not "${v}"`);
}

async function runThroughput(args: Args, c: Common): Promise<Record<string, unknown>> {
  const choice = args.string('participant-transport', 'frames');
  const rounds = Math.max(1, args.number('ab-rounds', 3));
  const p = throughputParams(args);
  args.rejectUnknown();
  if (isTransportChoice(choice)) return { ...(await measureThroughput({ ...p, transport: choice }, c, 'coordinator.db')) };
  if (choice !== 'ab') throw new Error(`--participant-transport must be ${TRANSPORT_CHOICES.join(', ')} or ab, not "${choice}"`);
  const cpu: Record<TransportChoice, number[]> = { frames: [], http2: [], 'grpc-js': [] };
  const runs: Record<string, unknown>[] = [];
  for (let i = 1; i <= rounds; i++) {
    for (const t of TRANSPORT_CHOICES) {
      log(`A/B round ${i}/${rounds}: participant transport ${t}`);
      const run = await measureThroughput({ ...p, transport: t }, c, `coordinator-${i}-${t}.db`);
      cpu[t].push(run.results.coordinatorCpuMsPerSaga);
      runs.push({ round: i, participantTransport: t, ...run });
    }
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  };
  const medians = Object.fromEntries(TRANSPORT_CHOICES.map((t) => [t, median(cpu[t])])) as Record<TransportChoice, number>;
  const grpcJs = medians['grpc-js'];
  const label: Record<TransportChoice, string> = { frames: 'lean channel, own HTTP/2 frames', http2: 'lean channel on node:http2', 'grpc-js': 'grpc-js, tuned alike' };
  process.stdout.write(
    [
      '== A/B: coordinator CPU per saga by participant transport (medians of the rounds)',
      ...TRANSPORT_CHOICES.map((t) => `${label[t].padEnd(33)}${fmt(medians[t], 3)} ms  (runs: ${cpu[t].map((x) => fmt(x, 3)).join(', ')})`),
      ...TRANSPORT_CHOICES.filter((t) => t !== 'grpc-js').map((t) => `${t} saves ${fmt(grpcJs > 0 ? ((grpcJs - medians[t]) / grpcJs) * 100 : 0, 1)} % of grpc-js's coordinator CPU per saga`),
      'Only figures from a quiet machine count (see "other processes" above each run).',
      '',
    ].join('\n'),
  );
  return {
    abRounds: rounds,
    coordinatorCpuMsPerSaga: { frames: round(medians.frames, 3), http2: round(medians.http2, 3), grpcJs: round(grpcJs, 3) },
    runs,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
