// Child processes of the benchmark (coordinator, participants): started with
// their ready line {"listening":"host:port"}, every stdout/stderr line offered
// to listeners (the benchmark reads "recovery done" and participant counters),
// and ended only by their own pid.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { endpointOf, parseReadyLine } from '../support/ready-line.js';
import { existsSync } from 'node:fs';
import { COORDINATOR_MAIN, GO_BENCH_PARTICIPANT_BIN } from '../support/repo-paths.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

type LineListener = (line: string) => void;

export class BenchProcess {
  private readonly lineListeners = new Set<LineListener>();
  private readonly tail: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  address = '';
  /** The ready line's other bound addresses by name (the coordinator's "metrics"). */
  endpoints: Readonly<Record<string, string>> = {};

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const onLine = (line: string): void => {
      this.tail.push(line);
      if (this.tail.length > 40) this.tail.shift();
      for (const l of this.lineListeners) l(line);
    };
    if (child.stdout) createInterface({ input: child.stdout }).on('line', onLine);
    if (child.stderr) createInterface({ input: child.stderr }).on('line', onLine);
  }

  static async start(options: {
    name: string;
    /** An executable to run instead of node (args are then its own). */
    command?: string;
    args: readonly string[];
    env?: Readonly<Record<string, string>>;
    readyTimeoutMs?: number;
    /** Sees every line from the start, including those before the ready line. */
    onLine?: LineListener;
    /** Run on these CPUs only (a taskset list, e.g. "1"): every thread inherits it from the start. */
    cpus?: string;
  }): Promise<BenchProcess> {
    // taskset sets the affinity and execs the program in the same process: the pid is the program's.
    const program = options.command ?? process.execPath;
    const [command, argv] =
      options.cpus === undefined ? [program, [...options.args]] : ['taskset', ['-c', options.cpus, program, ...options.args]];
    const child = spawn(command, argv, {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new BenchProcess(options.name, child);
    if (options.onLine !== undefined) proc.onLine(options.onLine);
    // BENCH_ECHO=coordinator (or a participant's name) echoes that process's output.
    if (process.env.BENCH_ECHO === options.name) proc.onLine((line) => process.stderr.write(`${options.name}| ${line}\n`));
    const timeoutMs = options.readyTimeoutMs ?? 120_000;
    proc.address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${options.name}: not ready within ${timeoutMs} ms\n${proc.logs()}`)), timeoutMs);
      const off = proc.onLine((line) => {
        const ready = parseReadyLine(line);
        if (ready === undefined) return;
        proc.endpoints = ready.endpoints;
        clearTimeout(timer);
        off();
        resolve(ready.address);
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void proc.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`${options.name} exited (${code ?? signal}) before it was ready\n${proc.logs()}`));
      });
    });
    return proc;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** A bound address the ready line named (e.g. "metrics"); throws when it did not. */
  endpoint(name: string): string {
    return endpointOf(this.endpoints, this.name, name);
  }

  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(':') + 1));
  }

  /** Calls `listener` for every later stdout/stderr line; returns the unsubscribe function. */
  onLine(listener: LineListener): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  logs(): string {
    return this.tail.join('\n');
  }

  /** kill -9 of this process only. */
  async crash(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait (bounded; then SIGKILL). */
  async stop(timeoutMs = 30_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Moves a running process and all its threads to these CPUs (taskset -a -p -c). */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

export interface CoordinatorOptions {
  /** A SQLite file path or a postgres:// URL. */
  readonly db: string;
  /** Participant name -> address. */
  readonly participants: Readonly<Record<string, string>>;
  readonly synchronous: string;
  readonly port?: number;
  /** Extra node arguments (e.g. --cpu-prof). */
  readonly nodeArgs?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly logLevel?: string;
  readonly onLine?: LineListener;
  /** Pin the coordinator to these CPUs (taskset list). */
  readonly cpus?: string;
  /** Another build's main.js (default: BENCH_COORDINATOR_MAIN, else this repository's). */
  readonly main?: string;
}

export function startBenchCoordinator(o: CoordinatorOptions): Promise<BenchProcess> {
  return BenchProcess.start({
    name: 'coordinator',
    onLine: o.onLine,
    cpus: o.cpus,
    // BENCH_COORDINATOR_MAIN: another build of the coordinator, for A/B comparisons.
    args: [...(o.nodeArgs ?? []), o.main ?? process.env.BENCH_COORDINATOR_MAIN ?? COORDINATOR_MAIN],
    env: {
      SAGA_LISTEN: `127.0.0.1:${o.port ?? 0}`,
      ...(o.db.startsWith('postgres://') ? { SAGA_DATABASE_URL: o.db } : { SAGA_DB: o.db }),
      SAGA_SYNCHRONOUS: o.synchronous,
      SAGA_PARTICIPANTS: Object.entries(o.participants)
        .map(([name, address]) => `${name}=${address}`)
        .join(','),
      // The shipped default: whatever the coordinator logs at info is part of what is measured.
      SAGA_LOG_LEVEL: o.logLevel ?? 'info',
      ...o.env,
    },
  });
}

export type ParticipantMode = 'ok' | 'unavailable' | 'hold';

/** The no-op participant's server: grpc-js (a TypeScript participant), bare node:http2, or grpc-go (ok mode only). */
export type ParticipantImpl = 'grpc-js' | 'http2' | 'go';

/** The servers the throughput, curve and calibrate runs can put their ok-mode participants on. */
export type ParticipantServer = Extract<ParticipantImpl, 'grpc-js' | 'go'>;

export async function startNoopParticipant(
  name: string,
  mode: ParticipantMode,
  reportMs = 200,
  impl: ParticipantImpl = 'grpc-js',
  cpus?: string,
): Promise<BenchProcess> {
  if (impl === 'go') {
    if (mode !== 'ok') throw new Error(`the grpc-go bench participant answers every call SUCCEEDED; mode "${mode}" needs grpc-js or http2`);
    if (!existsSync(GO_BENCH_PARTICIPANT_BIN)) throw new Error(`${GO_BENCH_PARTICIPANT_BIN} is missing: run participants/go/scripts/build.sh`);
    return BenchProcess.start({ name, cpus, command: GO_BENCH_PARTICIPANT_BIN, args: [], env: { BP_REPORT_MS: String(reportMs) } });
  }
  return BenchProcess.start({
    name,
    cpus,
    args: [join(BENCH_DIR, 'noop-participant.js'), '--mode', mode, '--report-ms', String(reportMs), '--impl', impl],
  });
}

export interface ParticipantCounters {
  calls: number;
  held: number;
  keys: number;
  repeated: number;
}

/** The latest counters the no-op participants printed, summed. */
export function participantCounters(procs: readonly BenchProcess[]): () => ParticipantCounters {
  const latest = procs.map(() => ({ calls: 0, held: 0, keys: 0, repeated: 0 }));
  procs.forEach((p, i) =>
    p.onLine((line) => {
      if (!line.startsWith('{"calls"')) return;
      try {
        latest[i] = JSON.parse(line) as ParticipantCounters;
      } catch {
        // not a counter line
      }
    }),
  );
  return () =>
    latest.reduce(
      (a, c) => ({ calls: a.calls + c.calls, held: a.held + c.held, keys: a.keys + c.keys, repeated: a.repeated + c.repeated }),
      { calls: 0, held: 0, keys: 0, repeated: 0 },
    );
}

/** The coordinator's "recovery done" log line. */
export interface RecoveryLine {
  msg?: string;
  ms?: number;
  recovered?: number;
  inDoubt?: number;
}

/** Starts a coordinator (after a crash) and catches its "recovery done" line. */
export async function startRecoveringCoordinator(o: CoordinatorOptions): Promise<{ proc: BenchProcess; recovery: () => RecoveryLine | undefined }> {
  let line: RecoveryLine | undefined;
  const proc = await startBenchCoordinator({
    ...o,
    onLine: (l) => {
      if (!l.includes('"recovery done"')) return;
      try {
        line = JSON.parse(l) as RecoveryLine;
      } catch {
        // not JSON
      }
    },
  });
  return { proc, recovery: () => line };
}
