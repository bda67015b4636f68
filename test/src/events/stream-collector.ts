// A JetStream consumer for tests: a durable pull consumer on the events stream
// that fetches in a loop, acks everything and keeps what it received (decoded).
// It outlives NATS restarts: it reconnects and retries until closed.

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { waitFor } from '../support/wait-for.js';

export interface Received<T> {
  readonly subject: string;
  /** Stream sequence. */
  readonly seq: number;
  readonly msgId: string;
  readonly redelivered: boolean;
  readonly value: T;
}

export interface CollectorOptions<T> {
  readonly url: string;
  readonly stream?: string;
  readonly durable: string;
  readonly filter: string;
  readonly decode: (data: Uint8Array, subject: string) => T;
}

export class StreamCollector<T> {
  readonly received: Received<T>[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: CollectorOptions<T>,
  ) {}

  static async start<T>(options: CollectorOptions<T>): Promise<StreamCollector<T>> {
    const nc = await connect({ servers: options.url, maxReconnectAttempts: -1, reconnectTimeWait: 100, timeout: 5000 });
    const c = new StreamCollector(nc, options);
    c.loop = c.run();
    return c;
  }

  /** Waits until at least `n` messages were received. */
  async waitForCount(n: number, what: string, timeoutMs = 30_000): Promise<Received<T>[]> {
    await waitFor(() => this.received.length >= n, `${what} (${n} messages; have ${this.received.length})`, timeoutMs);
    return this.received;
  }

  /** Messages the consumer has not delivered or not seen acked yet (0 = it has everything in the stream). */
  async outstanding(): Promise<number> {
    const jsm = await jetstreamManager(this.nc, { timeout: 5000 });
    const info = await jsm.consumers.info(this.stream, this.options.durable);
    return info.num_pending + info.num_ack_pending;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.nc.close();
  }

  private get stream(): string {
    return this.options.stream ?? 'SAGA_EVENTS';
  }

  private async run(): Promise<void> {
    let ready = false;
    while (!this.stopped) {
      try {
        if (!ready) {
          // The coordinator creates the stream when it connects; until then, retry.
          const jsm = await jetstreamManager(this.nc, { timeout: 2000 });
          await jsm.consumers.add(this.stream, {
            durable_name: this.options.durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: this.options.filter,
          });
          ready = true;
        }
        const consumer = await jetstream(this.nc, { timeout: 2000 }).consumers.get(this.stream, this.options.durable);
        const batch = await consumer.fetch({ max_messages: 256, expires: 1000 });
        for await (const m of batch) {
          this.received.push({
            subject: m.subject,
            seq: m.seq,
            msgId: m.headers?.get('Nats-Msg-Id') ?? '',
            redelivered: m.redelivered,
            value: this.options.decode(m.data, m.subject),
          });
          m.ack();
        }
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
