// The order → stock flow with real processes: nats-server (JetStream), the
// coordinator relaying its outbox to NATS, the orders producer emitting
// order.created transactionally, the stock consumer deducting stock once per
// event. Each component has its own SQLite file in a fresh directory.

import { jetstreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { credentials, Metadata } from '@grpc/grpc-js';
import { ParticipantClient, StepOutcome, type StepResult } from '@saga/proto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startCoordinator, startNatsServer } from '../support/launchers.js';
import { ManagedProcess } from '../support/managed-process.js';
import { REPO_ROOT } from '../support/repo-paths.js';
import { queryDb } from '../support/sqlite-inspect.js';
import { testDir } from '../support/test-dir.js';
import { MessageRpcClient } from './message-rpc-client.js';

export const PRODUCER = 'order-events';
export const STREAM = 'SAGA_EVENTS';
export const SKU = 'sku-1';
export const INITIAL_STOCK = 50;
const ORDER_EVENTS_DIR = join(REPO_ROOT, 'participants', 'ts', 'dist', 'order-events');

export interface OrderEventsOptions {
  /** Start nats-server. Default true. */
  readonly nats?: boolean;
  /** Connect the coordinator to it (else its outbox keeps what it commits). Default true. */
  readonly coordinatorUsesNats?: boolean;
  readonly coordinatorEnv?: Readonly<Record<string, string>>;
  readonly producerEnv?: Readonly<Record<string, string>>;
  /** Start the stock consumer. Default true (needs nats). */
  readonly consumer?: boolean;
}

export interface StreamMessage {
  readonly seq: number;
  readonly subject: string;
  readonly msgId: string;
  readonly data: Buffer;
}

export class OrderEventsScenario {
  nats: (ManagedProcess & { url: string }) | undefined;
  coordinator!: ManagedProcess;
  producer!: ManagedProcess;
  consumer: ManagedProcess | undefined;
  messages!: MessageRpcClient;
  private orders!: ParticipantClient;
  readonly dir: ReturnType<typeof testDir>;
  private producerPort = 0;
  private coordinatorEnv: Record<string, string> = {};

  private constructor(name: string) {
    this.dir = testDir(name);
  }

  static async start(name: string, options: OrderEventsOptions = {}): Promise<OrderEventsScenario> {
    const s = new OrderEventsScenario(name);
    try {
      if (options.nats ?? true) s.nats = await startNatsServer(s.dir.file('nats'));
      s.producerPort = await freePort();
      // The coordinator's stream also captures the order events (messages.subjects defaults to them).
      const configFile = s.dir.file('coordinator.json');
      writeFileSync(configFile, JSON.stringify({ nats: { stream: { subjects: ['saga.events.>', 'saga.steps.>', 'saga.alerts.>', 'orders.>'] } } }));
      s.coordinatorEnv = { SAGA_CONFIG: configFile, ...options.coordinatorEnv };
      await s.startCoordinatorProcess(s.coordinatorEnv, options.coordinatorUsesNats ?? true);
      await s.startProducer(options.producerEnv);
      if ((options.consumer ?? true) && s.nats !== undefined) await s.startConsumer();
      return s;
    } catch (err) {
      await s.close();
      throw err;
    }
  }

  db(component: 'coordinator' | 'orders' | 'stock'): string {
    return this.dir.file(`${component}.db`);
  }

  async startCoordinatorProcess(env: Record<string, string>, withNats: boolean, port?: number): Promise<void> {
    this.coordinator = await startCoordinator({
      db: this.db('coordinator'),
      participants: { [PRODUCER]: `127.0.0.1:${this.producerPort}` },
      env: { ...env, ...(withNats && this.nats !== undefined ? { SAGA_NATS_URL: this.nats.url } : {}) },
      port,
    });
    this.messages?.close();
    this.messages = new MessageRpcClient(this.coordinator.address);
  }

  /** Restarts the coordinator on the same log and port (after a crash or stop), without test crash points. */
  async restartCoordinator(options: { withNats?: boolean } = {}): Promise<void> {
    await this.coordinator.stop();
    const env = { ...this.coordinatorEnv };
    delete env.SAGA_TEST_CRASH_AT;
    await this.startCoordinatorProcess(env, options.withNats ?? true, this.coordinator.port);
  }

  async startProducer(env: Readonly<Record<string, string>> = {}): Promise<void> {
    this.producer = await ManagedProcess.start({
      name: 'order-events-producer',
      command: process.execPath,
      args: [join(ORDER_EVENTS_DIR, 'order-producer-main.js')],
      env: {
        PARTICIPANT_HOST: '127.0.0.1',
        PARTICIPANT_PORT: String(this.producerPort),
        PARTICIPANT_DB: this.db('orders'),
        COORDINATOR_ADDRESS: this.coordinator.address,
        PRODUCER_NAME: PRODUCER,
        LOG_LEVEL: 'info',
        ...env,
      },
    });
    this.orders?.close();
    this.orders = new ParticipantClient(this.producer.address, credentials.createInsecure());
  }

  /** Restarts the producer on its port and database (after a crash), with `env` instead of the faults. */
  async restartProducer(env: Readonly<Record<string, string>> = {}): Promise<void> {
    await this.producer.stop();
    await this.startProducer(env);
  }

  async startConsumer(env: Readonly<Record<string, string>> = {}): Promise<void> {
    if (this.nats === undefined) throw new Error('no nats-server in this scenario');
    this.consumer = await ManagedProcess.start({
      name: 'order-events-stock',
      command: process.execPath,
      args: [join(ORDER_EVENTS_DIR, 'stock-consumer-main.js')],
      env: {
        PARTICIPANT_DB: this.db('stock'),
        PARTICIPANT_SEED: JSON.stringify({ stock: { [SKU]: INITIAL_STOCK } }),
        NATS_URL: this.nats.url,
        // A message whose ack was lost comes back soon.
        STOCK_CONSUMER_ACK_WAIT_MS: '2000',
        LOG_LEVEL: 'info',
        ...env,
      },
    });
  }

  /** Calls the orders service's create-order action (as a saga step or any client would). */
  createOrder(order: { orderId: string; quantity: number; sku?: string; userId?: string }): Promise<StepResult> {
    const payload = Buffer.from(JSON.stringify({ sku: SKU, userId: 'user-1', ...order }));
    return new Promise((resolve, reject) =>
      this.orders.execute(
        {
          call: {
            sagaId: `direct-${order.orderId}`,
            sagaName: 'place-order',
            stepName: 'create-order',
            action: 'create-order',
            payload,
            attempt: 1,
            compensationEpoch: 0,
            idempotencyKey: `direct-${order.orderId}/create-order/execute`,
            deadline: new Date(Date.now() + 15_000),
            outputs: {},
            metadata: {},
          },
        },
        new Metadata(),
        { deadline: Date.now() + 20_000 },
        (err, res) => (err ? reject(err) : res.result ? resolve(res.result) : reject(new Error('no result'))),
      ),
    );
  }

  /** Every message in the coordinator's stream (optionally of one subject), in stream order. */
  async streamMessages(subject?: string): Promise<StreamMessage[]> {
    if (this.nats === undefined) return [];
    const nc = await connect({ servers: this.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(STREAM).catch(() => undefined);
      if (info === undefined) return [];
      const out: StreamMessage[] = [];
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m: StoredMsg | null = await jsm.streams.getMessage(STREAM, { seq }).catch(() => null);
        if (m === null || (subject !== undefined && m.subject !== subject)) continue;
        out.push({ seq, subject: m.subject, msgId: m.header.get('Nats-Msg-Id'), data: Buffer.from(m.data) });
      }
      return out;
    } finally {
      await nc.close();
    }
  }

  stockMovements(orderId: string): Promise<{ delta: number; status: string; message_id: string }[]> {
    return queryDb(this.db('stock'), 'SELECT delta, status, message_id FROM stock_movements WHERE order_id = ? ORDER BY rowid', [orderId]);
  }

  async stock(): Promise<number> {
    const rows = await queryDb<{ quantity: number }>(this.db('stock'), 'SELECT quantity FROM stock WHERE sku = ?', [SKU]);
    return rows[0]?.quantity ?? Number.NaN;
  }

  orderRows(orderId: string): Promise<{ status: string; message_id: string }[]> {
    return queryDb(this.db('orders'), 'SELECT status, message_id FROM orders WHERE order_id = ?', [orderId]);
  }

  async close(): Promise<void> {
    this.messages?.close();
    this.orders?.close();
    await this.consumer?.stop();
    await this.producer?.stop();
    await this.coordinator?.stop();
    await this.nats?.stop();
    this.dir.remove();
  }
}

export function succeeded(result: StepResult): boolean {
  return result.outcome === StepOutcome.STEP_OUTCOME_SUCCEEDED;
}

export function outputOf(result: StepResult): { orderId: string; messageId: string; messageState: string } {
  return JSON.parse(Buffer.from(result.output).toString()) as { orderId: string; messageId: string; messageState: string };
}
