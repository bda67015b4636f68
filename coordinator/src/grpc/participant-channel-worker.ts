// The participant channel thread (a worker_thread, started by channel-thread.ts
// when participantTransport.thread is "worker"): runs the lean HTTP/2 channels
// to the participants off the coordinator's event loop. It takes calls as
// bytes and answers with bytes; it decides nothing and writes nothing, so the
// log keeps its single owner (the engine on the main thread), and the
// write-ahead order (intent durable before the call is handed over, result
// durable before dependents) is the engine's as before. Answers of one turn go
// back in one message.

import { parentPort, workerData } from 'node:worker_threads';
import { Http2UnaryChannel } from './http2-unary-channel.js';
import { installLeanAsyncResourceBind } from './lean-async-resource-bind.js';
import type { ChannelWorkerData, FromChannelThread, ToChannelThread } from './channel-thread-protocol.js';
import type { UnaryAnswer, UnaryCallHandle } from './participant-transport.js';
import { ChurnTable } from '../util/churn-table.js';

const port = parentPort;
if (port === null) throw new Error('participant-channel-worker runs as a worker thread only');
const { options } = workerData as ChannelWorkerData;
// Before the first request: node:http2 binds each one (lean-async-resource-bind.ts says why).
installLeanAsyncResourceBind();
const channels = new Map<number, Http2UnaryChannel>();
const calls = new ChurnTable<number, UnaryCallHandle>();
let answers: FromChannelThread[] = [];
let transfer: ArrayBuffer[] = [];
let flushQueued = false;

const flush = (): void => {
  flushQueued = false;
  const batch = answers;
  const buffers = transfer;
  answers = [];
  transfer = [];
  port.postMessage(batch, buffers);
};

function answer(id: number, a: UnaryAnswer): void {
  // An exact-size copy: a received chunk may be a view of a larger buffer, which cloning would copy whole.
  const message = a.message === undefined ? undefined : new Uint8Array(a.message);
  answers.push({ id, code: a.code, details: a.details, message });
  if (message !== undefined) transfer.push(message.buffer);
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
}

port.on('message', (batch: ToChannelThread[]) => {
  for (const m of batch) {
    switch (m.t) {
      case 'endpoint':
        channels.get(m.ep)?.close();
        channels.set(m.ep, new Http2UnaryChannel(m.endpoint, options));
        break;
      case 'call': {
        const channel = channels.get(m.ep);
        if (channel === undefined) {
          answer(m.id, { code: 14, details: 'the participant channel thread has no such endpoint' });
          break;
        }
        const handle = channel.unary({ path: m.path, message: m.message, deadline: m.deadline, metadata: m.metadata, traceparent: m.traceparent }, (a) => {
          calls.delete(m.id);
          answer(m.id, a);
        });
        calls.set(m.id, handle);
        break;
      }
      case 'cancel':
        calls.get(m.id)?.cancel();
        break;
      case 'close':
        channels.get(m.ep)?.close();
        channels.delete(m.ep);
        break;
    }
  }
});
