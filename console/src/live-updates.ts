// One shared live stream of saga changes (GET /api/events), read with fetch so
// that the Authorization header goes with it (EventSource cannot send one).
// Reconnects after a pause; restarts when the token changes.

import { authHeaders } from './api';
import type { SagaChange } from './api-types';

export type LiveEvent = { type: 'saga'; change: SagaChange } | { type: 'burst' } | { type: 'status'; connected: boolean };
type Listener = (e: LiveEvent) => void;

const RECONNECT_MS = 2000;
const listeners = new Set<Listener>();
let running: AbortController | undefined;

export function onLive(listener: Listener): () => void {
  listeners.add(listener);
  if (running === undefined) start();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) stop();
  };
}

/** Reopens the stream (with the current token). */
export function restartLive(): void {
  stop();
  if (listeners.size > 0) start();
}

function emit(e: LiveEvent): void {
  for (const l of [...listeners]) l(e);
}

function stop(): void {
  running?.abort();
  running = undefined;
}

function start(): void {
  const controller = new AbortController();
  running = controller;
  void loop(controller.signal);
}

async function loop(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch('/api/events', { headers: authHeaders(), signal });
      if (!res.ok || res.body === null) throw new Error(`live stream answered ${res.status}`);
      emit({ type: 'status', connected: true });
      await readEvents(res.body, signal);
    } catch {
      // Reconnect below (an abort ends the loop).
    }
    if (signal.aborted) return;
    emit({ type: 'status', connected: false });
    await new Promise((r) => setTimeout(r, RECONNECT_MS));
  }
}

/** Parses text/event-stream blocks ("event:" and "data:" lines, blank line ends one). */
async function readEvents(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!signal.aborted) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(5).trim();
      }
      if (type === 'saga' && data !== '') emit({ type: 'saga', change: JSON.parse(data) as SagaChange });
      else if (type === 'burst') emit({ type: 'burst' });
    }
  }
}
