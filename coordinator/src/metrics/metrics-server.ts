// The Prometheus scrape endpoint: GET /metrics on its own HTTP port, nothing
// else. A scrape has a deadline so a stuck source cannot pile up requests.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
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
    const { host, port } = splitHostPort(this.options.listen);
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
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const addr = server.address() as AddressInfo;
    const bound = `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    this.options.logger.info({ address: bound }, 'metrics endpoint listening');
    return bound;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`metrics: "${listen}" is not host:port`);
  return { host, port };
}
