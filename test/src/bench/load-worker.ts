// A load-driving process of the benchmark (forked by run-bench). It starts
// sagas over its own gRPC connections, closed-loop (a fixed number in flight)
// or open-loop (a fixed offered rate, latency measured from the instant each
// saga was due, so a slow coordinator cannot hide queueing), and reports to
// its parent over IPC. The StartSaga request is encoded once: the driver must
// not be what limits the measurement.

import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { installLeanAsyncResourceBind } from '@saga/coordinator';
import { SagaOutcome, StartSagaRequest, StartSagaResponse } from '@saga/proto';
import { performance } from 'node:perf_hooks';
import { frame, LeanUnaryClient } from './lean-client.js';
import { buildRequest, type WorkerConfig, type WorkerMessage } from './worker-protocol.js';

const START_PATH = '/saga.v1.Coordinator/StartSaga';
const RESOURCE_EXHAUSTED = 8;
/** Closed loop: a shed start is tried again after a pause doubling from this (full jitter, cap 1 s), as the SDK does. */
const SHED_PAUSE_MS = 20;
const SHED_PAUSE_CAP_MS = 1_000;

function run(config: WorkerConfig, send: (m: WorkerMessage) => void): void {
  // Both drivers' requests go through node:http2's request(): on Node 20 each one's garbage
  // would outlive the scavenges (lean-async-resource-bind.ts), and the driver's own GC pauses
  // would count in the latency it measures.
  installLeanAsyncResourceBind();
  const now = (): number => performance.timeOrigin + performance.now();
  const body = Buffer.from(StartSagaRequest.encode(buildRequest(config)).finish());
  const channels = Math.max(1, config.channels);
  const clients =
    config.driver === 'grpc-js'
      ? Array.from(
          { length: channels },
          // A local subchannel pool per client: one TCP connection each.
          () => new Client(config.address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1, 'grpc.enable_retries': 0 }),
        )
      : [];
  const lean = config.driver === 'grpc-js' ? [] : Array.from({ length: channels }, () => new LeanUnaryClient(config.address));
  const framed = frame(body);
  const metadata = new Metadata();
  const deadlineMs = Math.max(60_000, config.waitMs + 30_000);
  let started = 0;
  let completed = 0;
  let errors = 0;
  let notCompleted = 0;
  let skipped = 0;
  let shed = 0;
  /** Consecutive refusals: the closed loop backs off while the coordinator keeps shedding. */
  let shedStreak = 0;
  let outstanding = 0;
  let windowCompleted = 0;
  let windowAttempts = 0;
  let windowShed = 0;
  const windowLatencies: number[] = [];
  let lat: number[] = [];
  const errorSamples: string[] = [];
  let stopped = false;
  let finished = false;

  const startOne = (dueAt: number, next: (() => void) | undefined): void => {
    const index = started % channels;
    started++;
    outstanding++;
    const sentAt = now();
    const inWindow = sentAt >= config.measureFrom && sentAt < config.measureTo;
    if (inWindow) windowAttempts++;
    const answered = (err: { code: number; details: string } | null, res?: StartSagaResponse): void => {
      outstanding--;
      const end = now();
      if (err?.code === RESOURCE_EXHAUSTED) {
        // Not started: the coordinator refused it to stay within capacity.
        shed++;
        if (inWindow) windowShed++;
        started--;
        shedStreak++;
        if (next !== undefined) setTimeout(next, Math.random() * Math.min(SHED_PAUSE_CAP_MS, SHED_PAUSE_MS * 2 ** Math.min(shedStreak, 10)));
        maybeDone();
        return;
      }
      shedStreak = 0;
      if (err) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${err.code}: ${err.details}`);
      } else if (config.waitMs > 0 && res?.outcome !== SagaOutcome.SAGA_OUTCOME_COMPLETED) {
        notCompleted++;
        if (errorSamples.length < 5) errorSamples.push(`outcome ${res?.outcome ?? '?'}: ${res?.failureReason ?? ''}`);
      } else {
        completed++;
        const ms = end - dueAt;
        lat.push(ms);
        if (end >= config.measureFrom && end < config.measureTo) {
          windowCompleted++;
          windowLatencies.push(ms);
        }
      }
      if (next !== undefined) next();
      maybeDone();
    };
    const client = clients[index];
    if (client !== undefined) {
      const decode = (b: Buffer): StartSagaResponse => StartSagaResponse.decode(b);
      const options = { deadline: Date.now() + deadlineMs };
      client.makeUnaryRequest(START_PATH, (b: Buffer) => b, decode, body, metadata, options, (err: ServiceError | null, res?: StartSagaResponse) => answered(err, res));
      return;
    }
    (lean[index] as LeanUnaryClient).call(START_PATH, framed, deadlineMs, (a) => {
      if (a.code !== 0 || a.message === undefined) answered({ code: a.code, details: a.details });
      else answered(null, StartSagaResponse.decode(a.message));
    });
  };

  const limitReached = (): boolean => stopped || (config.total > 0 && started >= config.total);

  const maybeDone = (): void => {
    if (finished || !limitReached() || outstanding > 0) return;
    finished = true;
    clearInterval(progress);
    send({ t: 'progress', started, completed, errors, notCompleted, outstanding, skipped, shed, lat });
    send({ t: 'done', started, completed, errors, notCompleted, skipped, shed, windowCompleted, windowLatencies, windowAttempts, windowShed, errorSamples });
    for (const c of clients) c.close();
    for (const c of lean) c.close();
  };

  const progress = setInterval(() => {
    send({ t: 'progress', started, completed, errors, notCompleted, outstanding, skipped, shed, lat });
    lat = [];
  }, 500);

  setTimeout(() => {
    stopped = true;
    maybeDone();
  }, Math.max(0, config.stopAt - Date.now()));

  setTimeout(() => {
    const t0 = now();
    if (config.mode === 'closed') {
      const loop = (): void => {
        if (limitReached()) return;
        startOne(now(), loop);
      };
      for (let i = 0; i < config.concurrency; i++) loop();
      return;
    }
    const interval = 1000 / config.rate;
    let due = 0;
    const tick = setInterval(() => {
      if (limitReached()) {
        clearInterval(tick);
        maybeDone();
        return;
      }
      const t = now();
      while (t0 + due * interval <= t && !limitReached()) {
        const dueAt = t0 + due * interval;
        due++;
        if (outstanding >= config.maxOutstanding) skipped++;
        else startOne(dueAt, undefined);
      }
    }, 1);
  }, Math.max(0, config.startAt - Date.now()));
}

process.once('message', (config: WorkerConfig) => {
  run(config, (m) => process.send?.(m));
});
process.on('disconnect', () => process.exit(0));
