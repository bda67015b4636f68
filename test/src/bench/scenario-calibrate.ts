// Scenario "calibrate": what this machine allows right now, measured the same
// way as the baseline figures, so the coordinator's figures can be read
// against the machine they were taken on:
//   - grpc-js unary calls/s from one client process to the no-op participant
//     (128 in flight) and the client's CPU time per call; same with 1 in flight
//   - fdatasync of a small write per second
//   - SQLite (WAL, synchronous=FULL) single-row transactions per second, and
//     rows/s batched 100 per transaction as one multi-row INSERT, with the
//     coordinator's own driver (better-sqlite3: a transaction runs synchronously)
//   - a minimal 3-step saga loop: per step a group-committed log write then the
//     RPC, plus a final write (4 durable writes, 3 RPCs), 128 sagas in flight.
// All of it runs in this process against one no-op participant process.

import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ExecuteRequest, ExecuteResponse } from '@saga/proto';
import { closeSync, fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import type { Args } from './args.js';
import { fmt, log, quietFirst, startParticipants, type Common } from './common.js';
import { round, summarize } from './histogram.js';

type Call = () => Promise<void>;

function grpcCall(address: string): { call: Call; close: () => void } {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.enable_retries': 0 });
  const request = ExecuteRequest.fromPartial({
    call: { sagaId: '0192f5c0-0000-7000-8000-000000000000', sagaName: 'bench', stepName: 'step-1', action: 'do', payload: Buffer.alloc(64, 0x61), attempt: 1, idempotencyKey: 'x/step-1/execute', deadline: new Date() },
  });
  const encode = (r: ExecuteRequest): Buffer => Buffer.from(ExecuteRequest.encode(r).finish());
  const call: Call = () =>
    new Promise<void>((resolve, reject) =>
      client.makeUnaryRequest('/saga.v1.Participant/Execute', encode, (b: Buffer) => ExecuteResponse.decode(b), request, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null) =>
        err ? reject(err) : resolve(),
      ),
    );
  return { call, close: () => client.close() };
}

/** Closed loop: `inFlight` loops calling `op` for `ms`. Returns ops/s, latencies and this process's CPU µs per op. */
async function closedLoop(op: () => Promise<void>, inFlight: number, ms: number): Promise<{ perSecond: number; cpuUsPerOp: number; p50: number; p99: number }> {
  const lat: number[] = [];
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op();
        lat.push(performance.now() - t);
      }
    }),
  );
  const el = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const s = summarize(lat);
  return { perSecond: round((lat.length * 1000) / el, 0), cpuUsPerOp: round((cpu.user + cpu.system) / lat.length, 1), p50: round(s.p50, 3), p99: round(s.p99, 3) };
}

function fsyncRate(dir: string, ms: number): number {
  const fd = openSync(join(dir, 'fsync.bin'), 'w');
  const buf = Buffer.alloc(512, 1);
  let n = 0;
  const end = performance.now() + ms;
  const t0 = performance.now();
  while (performance.now() < end) {
    writeSync(fd, buf, 0, buf.length, (n % 64) * 512);
    fdatasyncSync(fd);
    n++;
  }
  closeSync(fd);
  return round((n * 1000) / (performance.now() - t0), 0);
}

/** A SQLite file with the coordinator's pragmas of the log (WAL, synchronous=FULL). */
function openDb(path: string, schema: string): Database.Database {
  const db = new Database(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; ${schema}`);
  return db;
}

function sqliteRates(dir: string, ms: number): { singleRowTxPerSecond: number; batched100RowsPerSecond: number } {
  const db = openDb(join(dir, 'calibrate.db'), 'CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);');
  let k = 0;
  const v = 'x'.repeat(80);
  let n = 0;
  let end = performance.now() + ms;
  let t0 = performance.now();
  const one = db.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  while (performance.now() < end) {
    one.run(++k, v);
    n++;
  }
  const single = (n * 1000) / (performance.now() - t0);
  const hundred = db.prepare(`INSERT INTO t (k, v) VALUES ${new Array(100).fill('(?, ?)').join(', ')}`);
  n = 0;
  end = performance.now() + ms;
  t0 = performance.now();
  while (performance.now() < end) {
    const params: unknown[] = [];
    for (let i = 0; i < 100; i++) params.push(++k, v);
    db.exec('BEGIN');
    hundred.run(...params);
    db.exec('COMMIT');
    n += 100;
  }
  const batched = (n * 1000) / (performance.now() - t0);
  db.close();
  return { singleRowTxPerSecond: round(single, 0), batched100RowsPerSecond: round(batched, 0) };
}

/** The minimal saga loop: group-committed log writes (one transaction, one multi-row INSERT per batch) and RPCs. */
async function minimalSagaLoop(dir: string, call: Call, inFlight: number, ms: number): Promise<{ sagasPerSecond: number; cpuUsPerSaga: number; p50: number; p99: number }> {
  const db = openDb(join(dir, 'saga-loop.db'), 'CREATE TABLE log (saga INTEGER NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (saga, seq)) WITHOUT ROWID;');
  let queue: { row: [number, number, string]; done: () => void }[] = [];
  let flushing = false;
  const flush = async (): Promise<void> => {
    flushing = true;
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      db.exec('BEGIN');
      db.prepare(`INSERT INTO log (saga, seq, data) VALUES ${new Array(batch.length).fill('(?, ?, ?)').join(', ')}`).run(...batch.flatMap((b) => b.row));
      db.exec('COMMIT');
      for (const b of batch) b.done();
    }
    flushing = false;
  };
  const write = (saga: number, seq: number, data: string): Promise<void> =>
    new Promise((resolve) => {
      queue.push({ row: [saga, seq, data], done: resolve });
      if (!flushing) void flush();
    });
  let sagaKey = 0;
  const saga = async (): Promise<void> => {
    const key = ++sagaKey;
    for (let s = 0; s < 3; s++) {
      await write(key, s, JSON.stringify({ t: 'dispatch', at: Date.now(), s, op: 'execute', n: 1 }));
      await call();
    }
    await write(key, 3, JSON.stringify({ t: 'finish', at: Date.now(), state: 'COMPLETED' }));
  };
  const r = await closedLoop(saga, inFlight, ms);
  db.close();
  return { sagasPerSecond: r.perSecond, cpuUsPerSaga: r.cpuUsPerOp, p50: r.p50, p99: r.p99 };
}

export async function runCalibrate(args: Args, c: Common): Promise<Record<string, unknown>> {
  const seconds = args.number('seconds', 5);
  args.rejectUnknown();
  return { results: await calibrate(seconds, c) };
}

export interface Calibration {
  readonly otherCpuCoresBeforeStart: number;
  readonly minimalSagaLoop128: { sagasPerSecond: number; cpuUsPerSaga: number; p50: number; p99: number };
  readonly [key: string]: unknown;
}

/** Measures what the machine allows now (`seconds` per measurement); prints it. */
export async function calibrate(seconds: number, c: Common): Promise<Calibration> {
  const ms = seconds * 1000;
  const otherCpuCoresBeforeStart = await quietFirst(c.quietS);
  const { procs, registry } = await startParticipants(1, 'ok', 0, c.participantServer);
  try {
    const { call, close } = grpcCall(registry.p0 ?? '');
    await closedLoop(call, 16, 1000); // warm up the JIT and the connection
    log('calibrate: grpc-js unary calls, 128 in flight');
    const grpc128 = await closedLoop(call, 128, ms);
    log('calibrate: grpc-js unary calls, 1 in flight');
    const grpc1 = await closedLoop(call, 1, ms);
    log('calibrate: fdatasync');
    const fsync = fsyncRate(c.dir, ms);
    log('calibrate: SQLite');
    const sqlite = sqliteRates(c.dir, ms);
    log('calibrate: minimal 3-step saga loop, 128 in flight');
    const loop = await minimalSagaLoop(c.dir, call, 128, ms);
    close();
    const out = { otherCpuCoresBeforeStart, grpcUnary128InFlight: grpc128, grpcUnary1InFlight: grpc1, fdatasyncPerSecond: fsync, sqlite, minimalSagaLoop128: loop };
    process.stdout.write(
      [
        '',
        '== what this machine allows now',
        `grpc-js unary, 1 client process, 128 in flight   ${fmt(grpc128.perSecond)} calls/s, client CPU ${fmt(grpc128.cpuUsPerOp)} µs/call`,
        `grpc-js unary, 1 in flight                      p50 ${fmt(grpc1.p50, 3)} ms  (${fmt(grpc1.perSecond)} calls/s)`,
        `fdatasync of a small write                      ${fmt(fsync)}/s`,
        `SQLite WAL synchronous=FULL                     ${fmt(sqlite.singleRowTxPerSecond)} single-row tx/s; ${fmt(sqlite.batched100RowsPerSecond)} rows/s as 100-row INSERTs`,
        `minimal 3-step saga loop, 128 in flight         ${fmt(loop.sagasPerSecond)} sagas/s (CPU ${fmt(loop.cpuUsPerSaga)} µs/saga, p50 ${fmt(loop.p50, 1)} ms)`,
        '',
      ].join('\n'),
    );
    return out;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}
