// The source material's order scenario with real processes: the coordinator
// and the four TypeScript participants (orders, stock, points, notification),
// each with its own SQLite file; the coordinator's store a SQLite file or a
// PostgreSQL database (see store-backends.ts).

import type { RetryPolicy, StepDefinition } from '@saga/proto';
import { startCoordinator, startTsParticipant } from './launchers.js';
import type { ManagedProcess } from './managed-process.js';
import { testDir } from './test-dir.js';
import { TestCoordinatorClient } from './coordinator-client.js';

export const SERVICES = ['orders', 'stock', 'points', 'notification'] as const;
export type Service = (typeof SERVICES)[number];

export const INITIAL_STOCK = 100;
export const INITIAL_POINTS = 100;

export interface OrderScenario {
  readonly dir: ReturnType<typeof testDir>;
  readonly participants: Record<Service, ManagedProcess>;
  coordinator: ManagedProcess;
  client: TestCoordinatorClient;
  /** A participant's SQLite file, or the coordinator's store location (file path or postgres:// URL). */
  db(service: Service | 'coordinator'): string;
  /** Restarts the coordinator on the same database (after a crash or stop). */
  restartCoordinator(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startOrderScenario(
  name: string,
  coordinatorEnv: Record<string, string> = {},
  /** The coordinator's store location; default a SQLite file in the test dir. */
  coordinatorStore?: string,
): Promise<OrderScenario> {
  const dir = testDir(name);
  const db = (s: Service | 'coordinator'): string => (s === 'coordinator' && coordinatorStore !== undefined ? coordinatorStore : dir.file(`${s}.db`));
  const seeds: Record<Service, unknown> = {
    orders: {},
    stock: { stock: { 'sku-1': INITIAL_STOCK } },
    points: { points: { 'user-1': INITIAL_POINTS } },
    notification: {},
  };
  const started = await Promise.all(SERVICES.map((s) => startTsParticipant(s, { db: db(s), seed: seeds[s] })));
  const participants = Object.fromEntries(SERVICES.map((s, i) => [s, started[i]!])) as Record<Service, ManagedProcess>;
  const addresses = Object.fromEntries(SERVICES.map((s) => [s, participants[s].address]));
  const coordinator = await startCoordinator({ db: db('coordinator'), participants: addresses, env: coordinatorEnv });
  const scenario: OrderScenario = {
    dir,
    participants,
    coordinator,
    client: new TestCoordinatorClient(coordinator.address),
    db,
    async restartCoordinator(env = {}) {
      scenario.client.close();
      await scenario.coordinator.stop();
      scenario.coordinator = await startCoordinator({ db: db('coordinator'), participants: addresses, env, port: scenario.coordinator.port });
      scenario.client = new TestCoordinatorClient(scenario.coordinator.address);
    },
    async close() {
      scenario.client.close();
      await scenario.coordinator.stop();
      await Promise.all(Object.values(participants).map((p) => p.stop()));
      dir.remove();
    },
  };
  return scenario;
}

export const FAST_RETRY: RetryPolicy = { maxAttempts: 4, attemptTimeoutMs: 2000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };

type StepOptions = Partial<Omit<StepDefinition, 'payload'>> & { payload?: unknown; faults?: { execute?: string; compensate?: string } };

function step(name: string, participant: Service, action: string, compensateAction: string, payload: unknown, o: StepOptions): StepDefinition {
  const { faults, payload: p, ...rest } = o;
  const metadata: Record<string, string> = { ...(rest.metadata ?? {}) };
  if (faults?.execute) metadata['fault.execute'] = faults.execute;
  if (faults?.compensate) metadata['fault.compensate'] = faults.compensate;
  return {
    name,
    participant,
    action,
    compensateAction,
    payload: Buffer.from(JSON.stringify(p ?? payload)),
    dependsOn: [],
    noCompensation: false,
    retry: FAST_RETRY,
    compensationRetry: FAST_RETRY,
    ...rest,
    metadata,
  };
}

export const orderSteps = {
  createOrder: (o: StepOptions = {}) => step('create-order', 'orders', 'create', 'cancel', { userId: 'user-1' }, o),
  reserveStock: (o: StepOptions = {}) => step('reserve-stock', 'stock', 'deduct', 'restore', { sku: 'sku-1', quantity: 2 }, o),
  deductPoints: (o: StepOptions = {}) => step('deduct-points', 'points', 'deduct', 'restore', { userId: 'user-1', points: 10 }, o),
  notifyUser: (o: StepOptions = {}) => ({
    ...step('notify-user', 'notification', 'send', 'send', { userId: 'user-1', message: 'order placed' }, o),
    noCompensation: true,
  }),
};

export function fourSteps(o: Partial<Record<keyof typeof orderSteps, StepOptions>> = {}): StepDefinition[] {
  return [orderSteps.createOrder(o.createOrder), orderSteps.reserveStock(o.reserveStock), orderSteps.deductPoints(o.deductPoints), orderSteps.notifyUser(o.notifyUser)];
}
