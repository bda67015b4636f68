// Failover under load: 3 coordinator processes on one PostgreSQL database and
// one NATS JetStream server, sagas in flight through a fault-injecting
// participant (UNAVAILABLE before applying, or after applying with the answer
// lost), and kill -9 of a random coordinator at least 5 times, each restarted.
// Then: no saga lost, none stuck, each effect applied once, exactly one
// outcome event per saga on the stream, and no stale epoch's call produced an
// effect after a newer epoch began (the participant records each call's epoch).
// SAGA_FAILOVER_SAGAS sets how many sagas (default 2,000).

import { status, type ServiceError } from '@grpc/grpc-js';
import { SagaEvent, type RetryPolicy, type StepDefinition } from '@saga/proto';
import { startPostgresCluster } from '@saga/coordinator/testing';
import { describe, expect, it } from 'vitest';
import { ensureNatsServer } from '../events/ensure-nats-server.js';
import { StreamCollector, type Received } from '../events/stream-collector.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { startCoordinator, startNatsServer } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { RecordingParticipant, recordingStep } from '../support/recording-participant.js';
import { storeScalar } from '../support/store-backends.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { staleEffects } from '../support/stale-effects.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const SAGAS = Number(process.env.SAGA_FAILOVER_SAGAS ?? 2_000);
const KILLS = 5;
const LEASE_MS = 2_000;
/** Enough attempts that a step failing on injected faults alone (5 % + 5 % per attempt) does not happen in practice. */
const RETRY: RetryPolicy = { maxAttempts: 12, attemptTimeoutMs: 10_000, initialBackoffMs: 5, maxBackoffMs: 50, backoffMultiplier: 2 };
const STEPS = ['reserve', 'charge', 'ship'];

const cleanups = cleanupsAfterEach();

const steps = (): StepDefinition[] => STEPS.map((name) => recordingStep(name, 'flaky', RETRY));

interface Node {
  process: ManagedProcess;
  client: TestCoordinatorClient;
}

describe('failover under load', () => {
  it(`loses nothing when a coordinator of 3 is killed ${KILLS} times with ${SAGAS} sagas in flight`, { timeout: 600_000 }, async () => {
    ensureNatsServer();
    const dir = testDir('failover under load');
    cleanups.push(() => dir.remove());
    const pg = await startPostgresCluster();
    cleanups.push(() => pg.stop());
    const db = await pg.createDatabase('failover under load');
    const nats = await startNatsServer(dir.file('nats'));
    cleanups.push(() => nats.stop());
    // Calls take up to 20 ms, so that sagas are in flight at each kill.
    const participant = await RecordingParticipant.start({ faultRate: 0.05, maxDelayMs: 20 });
    cleanups.push(() => participant.close());
    const env = { SAGA_LEASE_MS: String(LEASE_MS), SAGA_NATS_URL: nats.url };
    const launch = async (port?: number): Promise<Node> => {
      const proc = await startCoordinator({ db, participants: { rec: participant.address }, env, port });
      return { process: proc, client: new TestCoordinatorClient(proc.address) };
    };
    const nodes: Node[] = [await launch(), await launch(), await launch()];
    cleanups.push(async () => {
      for (const n of nodes) {
        n.client.close();
        await n.process.stop();
      }
    });
    const events = await StreamCollector.start({ url: nats.url, durable: 'failover', filter: 'saga.events.>', decode: (d) => SagaEvent.decode(d) });
    cleanups.push(() => events.close());

    // Starts every saga, round robin; a start refused because its coordinator died is sent again to the next one (same id).
    const ids = Array.from({ length: SAGAS }, (_, i) => idFor('failover under load', String(i)));
    let next = 0;
    const starter = async (): Promise<void> => {
      while (next < ids.length) {
        const i = next++;
        const sagaId = ids[i] as string;
        for (let attempt = 0; ; attempt++) {
          const node = nodes[(i + attempt) % nodes.length] as Node;
          try {
            await node.client.start({ sagaId, name: 'failover', steps: steps() });
            break;
          } catch (err) {
            // A dead coordinator (UNAVAILABLE, CANCELLED) or one shedding load (RESOURCE_EXHAUSTED): the next one, after a pause.
            const code = (err as ServiceError).code;
            if (![status.UNAVAILABLE, status.CANCELLED, status.RESOURCE_EXHAUSTED].includes(code) || attempt > 200) throw err;
            await new Promise((r) => setTimeout(r, 20 + 10 * Math.min(attempt, 20)));
          }
        }
      }
    };
    const starting = Promise.all(Array.from({ length: 16 }, () => starter()));
    // Awaited below; a starter's failure must not go unhandled meanwhile.
    starting.catch(() => undefined);

    // kill -9 a random coordinator each time another share of the sagas was started, and restart it on its port.
    const killed: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      const due = Math.floor(((k + 1) * SAGAS) / (KILLS + 1));
      await waitFor(() => next >= due, `${due} sagas started`, 120_000, 50);
      const victim = Math.floor(Math.random() * nodes.length);
      const node = nodes[victim] as Node;
      await node.process.crash();
      // Its client stays open (calls on it answer UNAVAILABLE and go to another node) until the end.
      cleanups.push(() => node.client.close());
      killed.push(victim);
      nodes[victim] = await launch(node.process.port);
    }
    await starting;

    // None stuck: every saga reaches an outcome (a killed instance's sagas are claimed once its lease expires).
    await waitFor(
      async () => (await storeScalar(db, "SELECT count(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')")) === 0,
      'every saga finished',
      240_000,
      500,
    );
    // None lost: every saga accepted is in the store, each with an outcome.
    expect(await storeScalar(db, 'SELECT count(*) FROM sagas')).toBe(SAGAS);
    const completed = await storeScalar(db, "SELECT count(*) FROM sagas WHERE state = 'COMPLETED'");
    expect(await storeScalar(db, "SELECT count(*) FROM sagas WHERE state IN ('COMPLETED', 'COMPENSATED')")).toBe(SAGAS);

    // Each effect once: per completed saga, each step applied once (the participant's own record).
    const applied = new Map<string, number>();
    for (const a of participant.applications) {
      if (a.arrival.operation !== 'execute') continue;
      const k = `${a.arrival.sagaId}/${a.arrival.step}`;
      applied.set(k, (applied.get(k) ?? 0) + 1);
    }
    expect([...applied.values()].every((n) => n === 1)).toBe(true);
    expect([...applied.keys()].filter((k) => k.endsWith('/ship'))).toHaveLength(completed);
    expect(staleEffects(participant.arrivals, participant.applications)).toEqual([]);
    // Sagas did move between instances: some calls carried a later epoch.
    expect(participant.arrivals.some((a) => a.epoch > 1)).toBe(true);

    // Exactly one outcome event per saga on the stream (JetStream drops re-publications by Nats-Msg-Id).
    await events.waitForCount(SAGAS, 'one outcome event per saga', 120_000);
    const bySaga = new Map<string, Received<SagaEvent>[]>();
    for (const r of events.received) {
      const list = bySaga.get(r.value.sagaId) ?? [];
      if (!list.some((x) => x.seq === r.seq)) list.push(r);
      bySaga.set(r.value.sagaId, list);
    }
    expect(bySaga.size).toBe(SAGAS);
    expect([...bySaga.values()].filter((l) => l.length !== 1).map((l) => l[0]?.value.sagaId)).toEqual([]);
    for (const id of ids) expect(bySaga.has(id)).toBe(true);
    expect(killed).toHaveLength(KILLS);
    expect(completed).toBeGreaterThan(0);
  });
});
