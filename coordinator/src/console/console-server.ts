// The web console's HTTP server on its own port (console.listen): the built
// front-end at / and the JSON/SSE API at /api/. Lifecycle: start() after the
// engine has recovered, close() before the engine closes.

import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AlertsConfig } from '../config/config.js';
import type { SagaState } from '../domain/saga-types.js';
import type { MessageListReads } from '../messages/message-list.js';
import { closeHttp, listenHttp } from '../util/http-listen.js';
import { ConsoleApi, type ConsoleDeadLetters, type ConsoleEngine } from './console-api.js';
import type { ConsoleAuthenticator } from './console-auth.js';
import type { ConsoleSettings } from './console-settings.js';
import { healthReport } from './health-report.js';
import type { SagaChangeFeed } from './saga-change-feed.js';
import { BUILT_ASSETS_DIR, SECURITY_HEADERS, StaticAssets } from './static-assets.js';
import { ThroughputSampler } from './throughput-sampler.js';

export interface ConsoleServerOptions {
  readonly settings: ConsoleSettings;
  readonly engine: ConsoleEngine & {
    compensatingSince(): { sagaId: string; sagaName: string; since: number }[];
    activeCount(): number;
  };
  readonly countByState: () => Promise<Map<SagaState, number>>;
  readonly messages: MessageListReads;
  readonly deadLetters: ConsoleDeadLetters;
  readonly countDeadLetters: () => Promise<number>;
  readonly registry: Registry;
  readonly alerts: AlertsConfig;
  readonly feed: SagaChangeFeed;
  readonly auth: ConsoleAuthenticator;
  readonly logger: Logger;
}

export class ConsoleServer {
  private constructor(
    private readonly server: Server,
    private readonly sampler: ThroughputSampler,
    /** host:port it listens on. */
    readonly address: string,
  ) {}

  static async start(o: ConsoleServerOptions): Promise<ConsoleServer> {
    const assets = StaticAssets.load(o.settings.assetsDir === '' ? BUILT_ASSETS_DIR : o.settings.assetsDir);
    const sampler = new ThroughputSampler(o.registry);
    await sampler.start();
    const api = new ConsoleApi({
      engine: o.engine,
      countByState: o.countByState,
      messages: o.messages,
      deadLetters: o.deadLetters,
      countDeadLetters: o.countDeadLetters,
      health: () =>
        healthReport({
          registry: o.registry,
          throughput: sampler,
          alerts: o.alerts,
          countByState: o.countByState,
          compensating: () => o.engine.compensatingSince(),
          inFlight: () => o.engine.activeCount(),
        }),
      feed: o.feed,
      auth: o.auth,
      logger: o.logger,
      maxStreams: o.settings.maxStreams,
      headers: SECURITY_HEADERS,
    });
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      if (url.pathname.startsWith('/api/')) {
        void api.handle(req, res, url);
        return;
      }
      const asset = req.method === 'GET' || req.method === 'HEAD' ? assets.get(url.pathname) : undefined;
      if (asset === undefined) {
        res.writeHead(404, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': asset.type,
        'content-length': asset.body.length,
        'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
    });
    let address: string;
    try {
      address = await listenHttp(server, o.settings.listen, 'console.listen');
    } catch (err) {
      sampler.close();
      throw err;
    }
    o.logger.info({ address }, 'console listening');
    return new ConsoleServer(server, sampler, address);
  }

  /** Stops listening and ends open live streams. */
  async close(): Promise<void> {
    this.sampler.close();
    await closeHttp(this.server);
  }
}
