// The participant transport on a thread of its own (participantTransport.thread
// = "worker"): the lean HTTP/2 channels run in a worker_thread
// (participant-channel-worker.ts), so that building and submitting HTTP/2
// requests, reading answers and the garbage they leave take CPU from another
// core instead of the event loop that runs the engine, the gRPC server and the
// log. Calls cross as bytes: the invoker encodes and decodes on the event loop
// as before, and the engine's write-ahead order is untouched (a call is handed
// over only after its intent is durable; its answer comes back here).
//
// The calls of one event-loop turn go over in one message (flushed on
// process.nextTick, after the turn's promise continuations), their bytes
// transferred. If the thread dies, every call in it is answered UNAVAILABLE
// (the engine retries by the step's policy) and the next call starts a new one.

import { Worker } from 'node:worker_threads';
import { status } from '@grpc/grpc-js';
import type { ChannelWorkerData, FromChannelThread, ThreadChannelOptions, ToChannelThread } from './channel-thread-protocol.js';
import type { ParticipantTransport, TransportEndpoint, UnaryAnswer, UnaryCallHandle, UnaryRequest } from './participant-transport.js';
import { ChurnTable } from '../util/churn-table.js';

const WORKER_URL = new URL('./participant-channel-worker.js', import.meta.url);

export class ChannelThread {
  private worker: Worker | undefined;
  /** By endpoint number (the index); registered again with a new thread. */
  private readonly endpoints: (TransportEndpoint | undefined)[] = [];
  private readonly pending = new ChurnTable<number, (answer: UnaryAnswer) => void>();
  private nextId = 1;
  private outbox: ToChannelThread[] = [];
  private transfer: ArrayBuffer[] = [];
  private flushQueued = false;
  private closed = false;

  constructor(private readonly options: ThreadChannelOptions) {}

  /** A transport to `endpoint` through the thread. */
  transport(endpoint: TransportEndpoint): ParticipantTransport {
    const ep = this.endpoints.push(endpoint) - 1;
    if (this.worker !== undefined) this.post({ t: 'endpoint', ep, endpoint });
    return {
      unary: (request, done) => this.unary(ep, request, done),
      close: () => {
        this.endpoints[ep] = undefined;
        if (this.worker !== undefined) this.post({ t: 'close', ep });
      },
    };
  }

  /** Calls in the thread now (for tests and diagnostics). */
  inFlight(): number {
    return this.pending.size;
  }

  /** Answers the calls in flight UNAVAILABLE and stops the thread. */
  close(): void {
    this.closed = true;
    const w = this.worker;
    this.lost(w, 'the participant transport is closed');
    if (w !== undefined) w.terminate().catch(() => undefined);
  }

  private unary(ep: number, request: UnaryRequest, done: (answer: UnaryAnswer) => void): UnaryCallHandle {
    if (this.closed || this.endpoints[ep] === undefined) {
      process.nextTick(() => done({ code: status.UNAVAILABLE, details: 'the channel is closed' }));
      return { cancel: () => undefined };
    }
    const worker = this.ensureWorker();
    const id = this.nextId++;
    this.pending.set(id, done);
    // Calls in flight hold the process up, as their deadline timers do on the main thread.
    if (this.pending.size === 1) worker.ref();
    // An exact-size copy of our own to transfer: the invoker's bytes may be a view of a reused buffer.
    const message = request.message.slice();
    this.transfer.push(message.buffer);
    this.post({ t: 'call', id, ep, path: request.path, message, deadline: request.deadline, metadata: request.metadata, traceparent: request.traceparent });
    return {
      cancel: () => {
        if (!this.settle(id)) return;
        this.post({ t: 'cancel', id });
        done({ code: status.CANCELLED, details: 'Cancelled on client' });
      },
    };
  }

  /** Boots the thread now, so that the first call does not wait for it (its module load takes a few hundred ms). */
  warmUp(): void {
    if (!this.closed) this.ensureWorker();
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const data: ChannelWorkerData = { options: this.options };
    const w = new Worker(WORKER_URL, { workerData: data, name: 'participant-channels' });
    w.unref();
    w.on('message', (answers: FromChannelThread[]) => this.onAnswers(answers));
    w.on('error', (err: Error) => this.lost(w, `the participant channel thread failed: ${err.message}`));
    w.on('exit', (code: number) => this.lost(w, `the participant channel thread exited (code ${code})`));
    this.worker = w;
    this.outbox = [];
    this.transfer = [];
    this.endpoints.forEach((endpoint, ep) => {
      if (endpoint !== undefined) this.post({ t: 'endpoint', ep, endpoint });
    });
    return w;
  }

  private post(m: ToChannelThread): void {
    this.outbox.push(m);
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const batch = this.outbox;
    const buffers = this.transfer;
    this.outbox = [];
    this.transfer = [];
    if (batch.length > 0) this.worker?.postMessage(batch, buffers);
  };

  private onAnswers(answers: readonly FromChannelThread[]): void {
    for (const a of answers) {
      const done = this.pending.get(a.id);
      if (done === undefined || !this.settle(a.id)) continue; // cancelled meanwhile
      const message = a.message === undefined ? undefined : Buffer.from(a.message.buffer, a.message.byteOffset, a.message.byteLength);
      done({ code: a.code, details: a.details, message });
    }
  }

  /** Forgets a call; false when it was already answered. */
  private settle(id: number): boolean {
    if (!this.pending.delete(id)) return false;
    if (this.pending.size === 0) this.worker?.unref();
    return true;
  }

  /** The thread `w` is gone: its calls end UNAVAILABLE; the next call starts a new thread. */
  private lost(w: Worker | undefined, reason: string): void {
    if (w === undefined || this.worker !== w) return;
    this.worker = undefined;
    this.outbox = [];
    this.transfer = [];
    const calls = this.pending.values();
    this.pending.clear();
    for (const done of calls) done({ code: status.UNAVAILABLE, details: reason });
  }
}
