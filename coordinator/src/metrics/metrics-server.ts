// The Prometheus scrape endpoint: GET /metrics on its own HTTP port, nothing
// else. A scrape has a deadline so a stuck source cannot pile up requests.

import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { closeHttp, listenHttp } from '../util/http-listen.js';
import type { CoordinatorMetrics } from './coordinator-metrics.js';

export interface MetricsServerOptions {
  /** host:port; port 0 = ephemeral. */
  readonly listen: string;
  readonly metrics: CoordinatorMetrics;
  readonly logger: Logger;
  /** Deadline of one scrape. Default 10 s. */
  readonly scrapeTimeoutMs?: number;
}

export class MetricsServer {
  private server: Server | undefined;

  constructor(private readonly options: MetricsServerOptions) {}

  /** Listens; resolves with the bound host:port. */
  async start(): Promise<string> {
    const timeoutMs = this.options.scrapeTimeoutMs ?? 10_000;
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (req.method !== 'GET' || path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at GET /metrics\n');
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scrape took longer than ${timeoutMs} ms`)), timeoutMs);
      });
      Promise.race([this.options.metrics.exposition(), deadline])
        .then((body) => res.writeHead(200, { 'content-type': this.options.metrics.contentType }).end(body))
        .catch((err: unknown) => {
          this.options.logger.error({ err }, 'metrics scrape failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('scrape failed\n');
        })
        .finally(() => clearTimeout(timer));
    });
    const bound = await listenHttp(server, this.options.listen, 'metrics');
    this.server = server;
    this.options.logger.info({ address: bound }, 'metrics endpoint listening');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await closeHttp(server);
  }
}
