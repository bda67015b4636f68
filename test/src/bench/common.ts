// Helpers shared by the benchmark scenarios.

import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { cpus } from 'node:os';
import { StartSagaRequest, StartSagaResponse } from '@saga/proto';
import { startNoopParticipant, type BenchProcess, type ParticipantImpl, type ParticipantMode, type ParticipantServer } from './bench-process.js';
import { cpuTimeMs, waitForQuiet } from './proc-stats.js';

export interface Common {
  readonly steps: number;
  readonly participants: number;
  readonly payload: number;
  readonly sync: string;
  readonly nodeArgs: string[];
  readonly logLevel: string;
  readonly dir: string;
  readonly json: string | undefined;
  /** Seconds to wait for a quiet machine before measuring. */
  readonly quietS: number;
  /** The no-op participant's server in the throughput, curve and calibrate runs. */
  readonly participantServer: ParticipantServer;
}

/** Starts the no-op participants and returns them with their registry entries. */
export async function startParticipants(
  count: number,
  mode: ParticipantMode,
  reportMs = 200,
  impl: ParticipantImpl = 'grpc-js',
  cpuList?: string,
): Promise<{ procs: BenchProcess[]; registry: Record<string, string> }> {
  const procs = await Promise.all(Array.from({ length: count }, (_, i) => startNoopParticipant(`p${i}`, mode, reportMs, impl, cpuList)));
  return { procs, registry: Object.fromEntries(procs.map((p, i) => [`p${i}`, p.address])) };
}

/** One StartSaga call from this process (setup, not measured). */
export function startSaga(address: string, req: StartSagaRequest): Promise<StartSagaResponse> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise<StartSagaResponse>((resolve, reject) =>
    client.makeUnaryRequest(
      '/saga.v1.Coordinator/StartSaga',
      (r: StartSagaRequest) => Buffer.from(StartSagaRequest.encode(r).finish()),
      (b: Buffer) => StartSagaResponse.decode(b),
      req,
      new Metadata(),
      { deadline: Date.now() + 60_000 },
      (err, res) => (err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res)),
    ),
  ).finally(() => client.close());
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';
}

/** Sum of CPU ms of processes that may have exited (then their last reading counts). */
export function cpuOf(pids: readonly number[], last: Map<number, number>): number {
  let total = 0;
  for (const pid of pids) {
    try {
      last.set(pid, cpuTimeMs(pid));
    } catch {
      // exited: keep the last reading
    }
    total += last.get(pid) ?? 0;
  }
  return total;
}


/** Polls `probe` every `intervalMs` until it is true; false after `timeoutMs`. */
export async function until(probe: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return true;
}

/** Waits (at most `seconds`) until other processes leave the CPUs alone; returns their last share in cores. */
export async function quietFirst(seconds: number): Promise<number> {
  const busy = await waitForQuiet(0.1, 2000, seconds * 1000, (b) => log(`waiting for the machine to be quiet: other processes use ${fmt(b * 100)} % of the CPUs`));
  return Math.round(busy * cpus().length * 100) / 100;
}
