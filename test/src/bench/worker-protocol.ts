// What run-bench and its load-worker processes exchange, and the saga they start.

import { StartSagaRequest, type RetryPolicy } from '@saga/proto';

export interface WorkerConfig {
  readonly address: string;
  readonly mode: 'closed' | 'open';
  /** closed: sagas in flight. */
  readonly concurrency: number;
  /** open: sagas per second offered by this worker. */
  readonly rate: number;
  /** open: more in flight than this and due sagas are counted as not offered. */
  readonly maxOutstanding: number;
  readonly steps: number;
  readonly participants: number;
  readonly payloadBytes: number;
  /** StartSaga wait_ms: > 0 = the answer comes with the outcome (end-to-end latency). */
  readonly waitMs: number;
  /** Epoch ms: start, measurement window, stop. */
  readonly startAt: number;
  readonly measureFrom: number;
  readonly measureTo: number;
  readonly stopAt: number;
  /** Stop after this many sagas were started (0 = no limit). */
  readonly total: number;
  readonly channels: number;
  /** The client library: lean (node:http2, default) or grpc-js. */
  readonly driver: 'lean' | 'grpc-js';
  /** Execute retry policy of every step (scenarios); undefined = the coordinator's defaults. */
  readonly retry: RetryPolicy | undefined;
  /** The saga deadline (SagaOptions.deadline_ms); 0 or undefined = none. */
  readonly deadlineMs?: number;
}

/** What a load worker counted so far. */
export interface WorkerCounts {
  started: number;
  completed: number;
  errors: number;
  notCompleted: number;
  /** Open loop: due sagas not offered because too many were outstanding. */
  skipped: number;
  /** StartSaga answered RESOURCE_EXHAUSTED (load shed; not counted as started). */
  shed: number;
}

export type WorkerMessage =
  | (WorkerCounts & { t: 'progress'; outstanding: number; lat: number[] })
  | (WorkerCounts & {
      t: 'done';
      windowCompleted: number;
      windowLatencies: number[];
      /** StartSaga calls sent inside the measured window (retries of shed starts included), and of those the ones shed. */
      windowAttempts: number;
      windowShed: number;
      errorSamples: string[];
    });

export function buildRequest(c: Pick<WorkerConfig, 'steps' | 'participants' | 'payloadBytes' | 'waitMs' | 'retry' | 'deadlineMs'>): StartSagaRequest {
  const payload = Buffer.alloc(c.payloadBytes, 0x61);
  return StartSagaRequest.fromPartial({
    name: 'bench',
    waitMs: c.waitMs,
    options: c.deadlineMs ? { deadlineMs: c.deadlineMs } : undefined,
    steps: Array.from({ length: c.steps }, (_, i) => ({
      name: `step-${i + 1}`,
      participant: `p${i % c.participants}`,
      action: 'do',
      compensateAction: 'undo',
      payload,
      retry: c.retry,
    })),
  });
}
