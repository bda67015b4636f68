// The coordinator's connection to NATS, kept up for the life of the process:
// connects in the background (capped exponential backoff with full jitter, so
// start-up never waits for NATS), lets the client reconnect by itself once
// connected, and runs `prepare` (stream set-up) after every (re)connection.
// The link is "ready" only while connected and prepared.

import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { reconnectDelayMs } from '../engine/backoff.js';
import type { NatsConnectionState } from '../metrics/coordinator-metrics.js';
import { abortableDelay } from './abortable-delay.js';

export interface NatsLinkOptions {
  readonly servers: readonly string[];
  readonly clientName: string;
  /** Deadline of one connection attempt. */
  readonly connectTimeoutMs: number;
  /** Deadline of JetStream API requests and publishes made through `jetstream()`. */
  readonly requestTimeoutMs: number;
  /** The client's wait between reconnection attempts. */
  readonly reconnectWaitMs: number;
  /** Backoff between failed first connections or failed `prepare` runs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Runs after every (re)connection before the link is ready; a rejection is retried with backoff. */
  readonly prepare: (nc: NatsConnection) => Promise<void>;
  readonly onState: (state: NatsConnectionState) => void;
  readonly logger: Logger;
  readonly random?: () => number;
}

interface Live {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
}

export class NatsLink {
  private live: Live | undefined;
  private ready = false;
  /** Bumped on every disconnect, so a stale prepare loop stops. */
  private generation = 0;
  private readonly waiters = new Set<() => void>();
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly tasks = new Set<Promise<void>>();
  private lastMaxPayload: number | undefined;

  constructor(private readonly options: NatsLinkOptions) {
    if (options.servers.length === 0) throw new Error('NatsLink: at least one server is required');
  }

  start(): void {
    if (this.loop !== undefined) throw new Error('NatsLink already started');
    this.loop = this.run();
  }

  /** The max_payload the server advertised on the latest connection; undefined before the first. */
  maxPayload(): number | undefined {
    return this.lastMaxPayload;
  }

  /** The JetStream client while the link is ready, else undefined. */
  jetstream(): JetStreamClient | undefined {
    return this.ready ? this.live?.js : undefined;
  }

  /** Resolves once the link is ready, or when `signal` aborts. */
  whenReady(signal: AbortSignal): Promise<void> {
    if (this.ready || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Something failed that set-up may fix (e.g. the stream was deleted): not
   * ready until `prepare` has run again on the current connection.
   */
  revalidate(): void {
    const nc = this.live?.nc;
    if (!this.ready || nc === undefined || nc.isClosed() || this.stop.signal.aborted) return;
    this.setReady(false);
    this.options.onState('connecting');
    this.track(this.prepare(nc));
  }

  /** Flushes and closes the connection (bounded by `timeoutMs`), then stops reconnecting. */
  async close(timeoutMs: number): Promise<void> {
    this.stop.abort();
    this.setReady(false);
    const nc = this.live?.nc;
    if (nc !== undefined && !nc.isClosed()) {
      const drained = nc.drain().then(
        () => true,
        () => false,
      );
      const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
      if (!(await Promise.race([drained, timedOut]))) await nc.close().catch(() => undefined);
    }
    await this.loop;
    await Promise.allSettled([...this.tasks]);
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    let failures = 0;
    while (!this.stop.signal.aborted) {
      this.options.onState('connecting');
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: [...this.options.servers],
          name: this.options.clientName,
          timeout: this.options.connectTimeoutMs,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.options.reconnectWaitMs,
        });
      } catch (err) {
        failures += 1;
        const level = failures === 1 ? 'warn' : 'debug';
        log[level]({ err: errorSummary(err), servers: this.options.servers, failures }, 'cannot connect to NATS; events wait in the outbox; retrying');
        await abortableDelay(this.backoff(failures), this.stop.signal);
        continue;
      }
      if (this.stop.signal.aborted) {
        await nc.close().catch(() => undefined);
        break;
      }
      failures = 0;
      this.live = { nc, js: jetstream(nc, { timeout: this.options.requestTimeoutMs }) };
      this.lastMaxPayload = nc.info?.max_payload;
      log.info({ server: nc.getServer(), maxPayload: this.lastMaxPayload }, 'connected to NATS');
      this.track(this.watch(nc));
      await this.prepare(nc);
      const closed = await nc.closed();
      this.setReady(false);
      this.live = undefined;
      if (!this.stop.signal.aborted) {
        log.warn({ err: closed instanceof Error ? errorSummary(closed) : undefined }, 'NATS connection closed; connecting again');
      }
    }
  }

  /** Follows the client's connection status: not ready while disconnected, prepared again on reconnect. */
  private async watch(nc: NatsConnection): Promise<void> {
    const log = this.options.logger;
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.generation += 1;
        this.setReady(false);
        this.options.onState('disconnected');
        log.warn({ server: s.server }, 'disconnected from NATS; events wait in the outbox');
      } else if (s.type === 'reconnect') {
        this.lastMaxPayload = nc.info?.max_payload ?? this.lastMaxPayload;
        log.info({ server: s.server, maxPayload: this.lastMaxPayload }, 'reconnected to NATS');
        this.track(this.prepare(nc));
      }
    }
  }

  /** Runs `prepare` until it succeeds, the connection drops, or the link closes. */
  private async prepare(nc: NatsConnection): Promise<void> {
    const generation = ++this.generation;
    let failures = 0;
    while (!this.stop.signal.aborted && !nc.isClosed() && generation === this.generation) {
      try {
        await this.options.prepare(nc);
        if (generation === this.generation && !nc.isClosed() && !this.stop.signal.aborted) {
          this.setReady(true);
          this.options.onState('connected');
        }
        return;
      } catch (err) {
        failures += 1;
        this.options.logger.error({ err: errorSummary(err), failures }, 'NATS set-up (events stream) failed; retrying');
        await abortableDelay(this.backoff(failures), this.stop.signal);
      }
    }
  }

  private setReady(ready: boolean): void {
    this.ready = ready;
    if (ready) for (const w of [...this.waiters]) w();
  }

  private backoff(failures: number): number {
    return reconnectDelayMs(this.options, failures, this.options.random ?? Math.random);
  }

  private track(task: Promise<void>): void {
    const t = task.catch((err: unknown) => this.options.logger.error({ err }, 'NATS link task failed'));
    this.tasks.add(t);
    void t.finally(() => this.tasks.delete(t));
  }
}

/** Error name and message only: NATS errors can carry large objects. */
export function errorSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) };
}
