// GET /api/events: a text/event-stream of saga changes. Browsers read it with
// fetch (so the Authorization header goes with it, unlike EventSource).
// Changes are coalesced per saga and flushed a few times a second; a burst of
// more changes than a page shows is sent as one "burst" event (reload what you show).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SagaChange, SagaChangeFeed } from './saga-change-feed.js';

export interface LiveStreamOptions {
  readonly feed: SagaChangeFeed;
  readonly headers: Readonly<Record<string, string>>;
  readonly flushIntervalMs?: number;
  readonly heartbeatMs?: number;
}

const BURST = 200;

/** Serves one stream until the client goes away or the server closes the connection. */
export function serveLiveStream(req: IncomingMessage, res: ServerResponse, options: LiveStreamOptions): void {
  res.writeHead(200, {
    ...options.headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 2000\n: connected\n\n');
  const pending = new Map<string, SagaChange>();
  const unsubscribe = options.feed.subscribe((change) => pending.set(change.sagaId, change));
  const flush = setInterval(() => {
    if (pending.size === 0) return;
    if (pending.size > BURST) res.write(`event: burst\ndata: ${JSON.stringify({ changes: pending.size })}\n\n`);
    else for (const c of pending.values()) res.write(`event: saga\ndata: ${JSON.stringify(c)}\n\n`);
    pending.clear();
  }, options.flushIntervalMs ?? 250);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), options.heartbeatMs ?? 15_000);
  const stop = (): void => {
    clearInterval(flush);
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.once('close', stop);
  res.once('close', stop);
}
