// The outbox relay on several coordinator processes sharing one PostgreSQL
// database and one NATS JetStream server:
//   - every coordinator publishes the events of the sagas it owns, and only
//     those (each row owned by its saga's owner; the relays' published counts
//     add up to the rows: no row published by two), exactly one outcome event
//     per saga reaches the stream, and each saga's events are in order;
//   - rows left unsent by a coordinator killed with kill -9 (NATS was down) are
//     claimed and published by the survivor once the dead one's lease expired.

import { SagaEvent, StepEvent, StepStatus } from '@saga/proto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { ensureNatsServer } from '../events/ensure-nats-server.js';
import { stepsFor } from '../events/events-fixture.js';
import { scrape } from '../events/metrics-scrape.js';
import { ScriptedParticipant } from '../events/scripted-participant.js';
import { StreamCollector, type Received } from '../events/stream-collector.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { freePort, startCoordinator, startNatsServer } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { storeScalar, useStoreBackends } from '../support/store-backends.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const LEASE_MS = 2_000;
const SAGAS_PER_COORDINATOR = 20;
/** Per saga: reserve and charge each dispatched and settled (step events), then the outcome. */
const EVENTS_PER_SAGA = 5;

const stores = useStoreBackends();
const cleanups = cleanupsAfterEach();

interface Member {
  readonly process: ManagedProcess;
  readonly client: TestCoordinatorClient;
  readonly metrics: string;
}

/** A saga's event as the stream has it: a step transition or the outcome. */
interface Seen {
  readonly sagaId: string;
  /** 'reserve:RUNNING', 'charge:SUCCEEDED', … or 'outcome'. */
  readonly what: string;
}

function decode(data: Uint8Array, subject: string): Seen {
  if (subject.startsWith('saga.steps.')) {
    const e = StepEvent.decode(data);
    return { sagaId: e.sagaId, what: `${e.stepName}:${StepStatus[e.status].replace('STEP_STATUS_', '')}` };
  }
  if (subject.startsWith('saga.events.')) return { sagaId: SagaEvent.decode(data).sagaId, what: 'outcome' };
  return { sagaId: '', what: subject };
}

const IN_ORDER = ['reserve:RUNNING', 'reserve:SUCCEEDED', 'charge:RUNNING', 'charge:SUCCEEDED', 'outcome'];

/** Each saga's events in stream order, a re-delivery of the same stream message counted once. */
function bySaga(received: readonly Received<Seen>[]): Map<string, string[]> {
  const seqs = new Set<number>();
  const out = new Map<string, string[]>();
  for (const r of [...received].sort((a, b) => a.seq - b.seq)) {
    if (seqs.has(r.seq) || r.value.sagaId === '') continue;
    seqs.add(r.seq);
    out.set(r.value.sagaId, [...(out.get(r.value.sagaId) ?? []), r.value.what]);
  }
  return out;
}

async function startMembers(db: string, count: number, participant: ScriptedParticipant, natsUrl: string): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    const proc = await startCoordinator({
      db,
      participants: { scripted: participant.address },
      env: { SAGA_LEASE_MS: String(LEASE_MS), SAGA_NATS_URL: natsUrl, SAGA_STEP_EVENTS: 'true', SAGA_METRICS_LISTEN: '127.0.0.1:0' },
    });
    const metrics = proc.endpoint('metrics');
    const client = new TestCoordinatorClient(proc.address);
    cleanups.push(
      () => proc.stop(),
      () => client.close(),
    );
    members.push({ process: proc, client, metrics });
  }
  return members;
}

/** Waits until every saga of `ids` has all its events in the stream; returns them per saga. */
async function allEvents(events: StreamCollector<Seen>, ids: readonly string[]): Promise<Map<string, string[]>> {
  let seen = new Map<string, string[]>();
  await waitFor(
    () => {
      seen = bySaga(events.received);
      return ids.every((id) => (seen.get(id)?.length ?? 0) >= EVENTS_PER_SAGA);
    },
    `every event of ${ids.length} sagas`,
    120_000,
  );
  return seen;
}

/** Starts SAGAS_PER_COORDINATOR sagas on each member; returns their ids, per member. */
async function startSagas(test: string, members: readonly Member[]): Promise<string[][]> {
  return Promise.all(
    members.map(async (m, i) => {
      const ids = Array.from({ length: SAGAS_PER_COORDINATOR }, (_, n) => idFor(test, `${i}-${n}`));
      for (const sagaId of ids) await m.client.start({ sagaId, name: 'relayed', steps: stepsFor('completed') });
      return ids;
    }),
  );
}

/** A test dir, a fresh database and the scripted participant, removed after the test. */
async function setUp(test: string): Promise<{ dir: ReturnType<typeof testDir>; db: string; participant: ScriptedParticipant }> {
  ensureNatsServer();
  const dir = testDir(test);
  cleanups.push(() => dir.remove());
  const db = (await stores.location('postgres', test)) ?? '';
  const participant = await ScriptedParticipant.start();
  cleanups.push(() => participant.close());
  return { dir, db, participant };
}

const published = async (m: Member): Promise<number> => (await scrape(m.metrics)).value('saga_outbox_published_total') ?? 0;

describe('the outbox relay on several coordinators', () => {
  it("publishes on every coordinator the events of its own sagas, each once, one outcome per saga, each saga's in order", { timeout: 180_000 }, async () => {
    const test = 'relay on every instance';
    const { dir, db, participant } = await setUp(test);
    const nats = await startNatsServer(dir.file('nats'));
    cleanups.push(() => nats.stop());
    const members = await startMembers(db, 3, participant, nats.url);
    const events = await StreamCollector.start({ url: nats.url, durable: 'relay-cluster', filter: 'saga.>', decode });
    cleanups.push(() => events.close());

    const ids = await startSagas(test, members);
    const total = ids.flat().length;
    const seen = await allEvents(events, ids.flat());
    await waitFor(async () => (await storeScalar(db, 'SELECT count(*) FROM outbox WHERE sent_at IS NULL')) === 0, 'every row marked sent', 60_000);
    expect(seen.size).toBe(total);
    for (const id of ids.flat()) expect(seen.get(id)).toEqual(IN_ORDER);
    // Each row is owned by its saga's owner (the coordinator that accepted it): three owners, each with its sagas' rows.
    expect(await storeScalar(db, 'SELECT count(*) FROM outbox o JOIN sagas s ON s.id = o.ordering_key WHERE o.owner IS DISTINCT FROM s.owner')).toBe(0);
    expect(await storeScalar(db, 'SELECT count(DISTINCT owner) FROM outbox')).toBe(3);
    // Every relay published its own share, and no row was published by two (no duplicates, no restarts here).
    const counts = await Promise.all(members.map(published));
    expect(counts).toEqual(members.map(() => SAGAS_PER_COORDINATOR * EVENTS_PER_SAGA));
    expect(await storeScalar(db, 'SELECT count(*) FROM outbox')).toBe(total * EVENTS_PER_SAGA);
  });

  it("publishes the rows a coordinator killed with kill -9 left unsent, on the survivor, once each and in order", { timeout: 180_000 }, async () => {
    const test = 'relay after kill';
    const { dir, db, participant } = await setUp(test);
    const natsPort = await freePort();
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
    // NATS is configured but down: every saga finishes with its events unsent.
    const [victim, survivor] = (await startMembers(db, 2, participant, natsUrl)) as [Member, Member];
    const ids = await startSagas(test, [victim, survivor]);
    const total = ids.flat().length;
    await waitFor(
      async () => (await storeScalar(db, "SELECT count(*) FROM sagas WHERE state = 'COMPLETED'")) === total,
      'every saga completed',
      60_000,
    );
    const victimInstance = await ownerOf(db, ids[0]?.[0] ?? '');
    const victimRows = await storeScalar(db, `SELECT count(*) FROM outbox WHERE sent_at IS NULL AND owner = '${victimInstance}'`);
    expect(victimRows).toBe(SAGAS_PER_COORDINATOR * EVENTS_PER_SAGA);
    await victim.process.crash();

    const nats = await startNatsServer(dir.file('nats'), natsPort);
    cleanups.push(() => nats.stop());
    const events = await StreamCollector.start({ url: nats.url, durable: 'relay-after-kill', filter: 'saga.>', decode });
    cleanups.push(() => events.close());
    const seen = await allEvents(events, ids.flat());
    await waitFor(async () => (await storeScalar(db, 'SELECT count(*) FROM outbox WHERE sent_at IS NULL')) === 0, 'every row marked sent', 60_000);
    for (const id of ids.flat()) expect(seen.get(id)).toEqual(IN_ORDER);
    // The killed coordinator's rows were claimed (they are the survivor's now) and published by the survivor.
    expect(await storeScalar(db, `SELECT count(*) FROM outbox WHERE owner = '${victimInstance}'`)).toBe(0);
    expect(await published(survivor)).toBe(total * EVENTS_PER_SAGA);
  });
});

async function ownerOf(db: string, sagaId: string): Promise<string> {
  const client = new pg.Client({ connectionString: db });
  await client.connect();
  try {
    const r = await client.query<{ owner: string }>('SELECT owner FROM sagas WHERE id = $1', [sagaId]);
    const owner = r.rows[0]?.owner;
    if (owner === undefined) throw new Error(`saga ${sagaId} not found`);
    return owner;
  } finally {
    await client.end();
  }
}
