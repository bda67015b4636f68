// What the events tests share: an in-process participant, nats-server with
// JetStream (installed if missing), a coordinator with NATS and metrics
// configured (restartable on the same database), and saga definitions whose
// outcome is known in advance.

import { SagaEvent, type RetryPolicy, type StepDefinition } from '@saga/proto';
import { writeFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { freePort, startCoordinator, startNatsServer } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { testDir } from '../support/test-dir.js';
import { ensureNatsServer } from './ensure-nats-server.js';
import { scrape, type Scrape } from './metrics-scrape.js';
import { ScriptedParticipant } from './scripted-participant.js';
import { StreamCollector } from './stream-collector.js';

export const FAST: RetryPolicy = { maxAttempts: 3, attemptTimeoutMs: 30_000, initialBackoffMs: 5, maxBackoffMs: 20, backoffMultiplier: 2 };

export type SagaKind = 'completed' | 'compensated' | 'manual' | 'slow-compensation' | 'retried';

/** A step on the scripted participant whose actions script its outcome. */
export function step(name: string, action: string, compensateAction: string): StepDefinition {
  return {
    name,
    participant: 'scripted',
    action,
    compensateAction,
    payload: Buffer.alloc(0),
    dependsOn: [],
    noCompensation: false,
    retry: FAST,
    compensationRetry: FAST,
    metadata: {},
  };
}

/** Steps whose outcome is known: completed, compensated, manual (compensation fails), a held compensation, a retried step. */
export function stepsFor(kind: SagaKind): StepDefinition[] {
  switch (kind) {
    case 'completed':
      return [step('reserve', 'ok', 'undo'), step('charge', 'ok', 'undo')];
    case 'retried':
      return [step('reserve', 'flaky', 'undo'), step('charge', 'ok', 'undo')];
    case 'compensated':
      return [step('reserve', 'ok', 'undo'), step('charge', 'fail', 'undo')];
    case 'manual':
      return [step('reserve', 'ok', 'undo-fail'), step('charge', 'fail', 'undo')];
    case 'slow-compensation':
      return [step('reserve', 'ok', 'undo-hold'), step('charge', 'fail', 'undo')];
  }
}

export interface EventsFixture {
  readonly dir: ReturnType<typeof testDir>;
  readonly participant: ScriptedParticipant;
  nats: (ManagedProcess & { url: string }) | undefined;
  readonly natsPort: number;
  coordinator: ManagedProcess;
  client: TestCoordinatorClient;
  /** The running coordinator's metrics endpoint (bound on port 0: a new port after each restart). */
  readonly metricsAddress: string;
  readonly dbPath: string;
  /** Starts (or restarts) nats-server on the fixture's port and store directory. */
  startNats(): Promise<void>;
  stopNats(): Promise<void>;
  /** Restarts the coordinator on the same database and ports; `crash` = kill -9 first. */
  restartCoordinator(options?: { crash?: boolean; env?: Record<string, string>; nats?: boolean }): Promise<void>;
  scrape(): Promise<Scrape>;
  /** A durable consumer on the events stream; decodes SagaEvents unless told otherwise. */
  collector<T = SagaEvent>(durable: string, filter: string, decode?: (data: Uint8Array, subject: string) => T): Promise<StreamCollector<T>>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  /** Start nats-server and configure the coordinator with it. Default true. */
  readonly nats?: boolean;
  /** Configure NATS even though the server is not started yet. */
  readonly natsConfiguredButDown?: boolean;
  /** Coordinator config file content (merged over the defaults). */
  readonly config?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  /** nats-server's max_payload (its default is 1 MiB). */
  readonly natsMaxPayload?: number;
}

export async function startEventsFixture(name: string, options: FixtureOptions = {}): Promise<EventsFixture> {
  ensureNatsServer();
  const dir = testDir(name);
  const participant = await ScriptedParticipant.start();
  const natsPort = await freePort();
  const configPath = dir.file('coordinator.json');
  writeFileSync(configPath, JSON.stringify(options.config ?? {}));
  const url = `nats://127.0.0.1:${natsPort}`;
  const collectors: { close(): Promise<void> }[] = [];
  const envFor = (withNats: boolean, extra: Record<string, string> = {}): Record<string, string> => ({
    SAGA_CONFIG: configPath,
    // Port 0: the coordinator's ready line names the port it bound (a port picked here first could be taken before it binds).
    SAGA_METRICS_LISTEN: '127.0.0.1:0',
    SAGA_NATS_URL: withNats ? url : '',
    ...options.env,
    ...extra,
  });
  let natsConfigured = options.nats !== false || options.natsConfiguredButDown === true;
  const fx: EventsFixture = {
    dir,
    participant,
    nats: undefined,
    natsPort,
    coordinator: undefined as unknown as ManagedProcess,
    client: undefined as unknown as TestCoordinatorClient,
    get metricsAddress() {
      return fx.coordinator.endpoint('metrics');
    },
    dbPath: dir.file('coordinator.db'),
    async startNats() {
      fx.nats = await startNatsServer(dir.file('nats'), natsPort, { maxPayload: options.natsMaxPayload });
    },
    async stopNats() {
      await fx.nats?.stop();
      fx.nats = undefined;
    },
    async restartCoordinator(o = {}) {
      fx.client.close();
      if (o.crash === true) await fx.coordinator.crash();
      else await fx.coordinator.stop();
      if (o.nats !== undefined) natsConfigured = o.nats;
      fx.coordinator = await startCoordinator({
        db: fx.dbPath,
        participants: { scripted: participant.address },
        env: envFor(natsConfigured, o.env),
        port: fx.coordinator.port,
      });
      fx.client = new TestCoordinatorClient(fx.coordinator.address);
    },
    scrape: () => scrape(fx.metricsAddress),
    async collector<T = SagaEvent>(durable: string, filter: string, decode?: (data: Uint8Array, subject: string) => T) {
      const c = await StreamCollector.start<T>({ url, durable, filter, decode: decode ?? ((d) => SagaEvent.decode(d) as T) });
      collectors.push(c);
      return c;
    },
    async close() {
      fx.client.close();
      await fx.coordinator.stop();
      for (const c of collectors) await c.close();
      await fx.stopNats();
      await participant.close();
      dir.remove();
    },
  };
  if (options.nats !== false) await fx.startNats();
  fx.coordinator = await startCoordinator({ db: fx.dbPath, participants: { scripted: participant.address }, env: envFor(natsConfigured) });
  fx.client = new TestCoordinatorClient(fx.coordinator.address);
  return fx;
}

/**
 * For a test file: a function starting fixtures that are all closed after
 * each test (registers the afterEach hook).
 */
export function closedAfterEach(): (name: string, options?: FixtureOptions) => Promise<EventsFixture> {
  const started: EventsFixture[] = [];
  afterEach(async () => {
    for (const f of started.splice(0)) await f.close();
  });
  return async (name, options = {}) => {
    const f = await startEventsFixture(name, options);
    started.push(f);
    return f;
  };
}
