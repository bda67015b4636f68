// The relay over each real store (SQLite, PostgreSQL) and a scripted JetStream publisher:
// per-saga order with many publishes in flight, the in-flight bound, retry
// from the first unacknowledged row after a failure (re-publications carry the
// same Nats-Msg-Id), marking sent, dead letters (a refused row holds back its
// key only; replay and drop), and the pruner (by index; bound on unsent rows).

import type { JetStreamClient } from '@nats-io/jetstream';
import { InvalidArgumentError } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import type { OutboxInsert, Store } from '../store/store.js';
import { STORE_BACKENDS, useStoreFixtures, type StoreBackend } from '../testing/store-fixtures.js';
import { OutboxPruner } from './outbox-pruner.js';
import { OutboxRelay, type JetStreamSource } from './outbox-relay.js';

const logger = pino({ level: 'silent' });
// Registered before the cleanups' afterEach: stores close after the relays stop (after hooks run in reverse).
const fixtures = useStoreFixtures({ sqliteSynchronous: 'OFF' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(backend: StoreBackend): Promise<Store> {
  return fixtures.open(await fixtures.location(backend, 'relay'));
}

let n = 0;
function row(key: string, subject = `saga.events.s.completed`): OutboxInsert {
  n += 1;
  const id = `ev-${n}`;
  return { id, subject, payload: Buffer.from(id), headers: { 'Nats-Msg-Id': id, 'Saga-Id': key }, createdAt: Date.now(), orderingKey: key };
}

/** A JetStream stand-in: acks after a tick, records every publish, fails the ones `fail` picks. */
class ScriptedJetStream implements JetStreamSource {
  readonly published: { id: string; key: string; at: number }[] = [];
  readonly acked: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Keys with a publish in flight, to catch two of one saga at once. */
  readonly keysInFlight = new Set<string>();
  overlap = false;
  fail: (id: string, attempt: number) => boolean = () => false;
  /** Ids refused for what they are (as the client refuses a payload above max_payload). */
  readonly refuse = new Set<string>();
  private readonly attempts = new Map<string, number>();

  jetstream(): JetStreamClient {
    return { publish: (subject: string, payload: Uint8Array, opts: { msgID: string; headers: { get(k: string): string } }) => this.publish(opts) } as unknown as JetStreamClient;
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  revalidations = 0;
  revalidate(): void {
    this.revalidations += 1;
  }

  private async publish(opts: { msgID: string; headers: { get(k: string): string } }): Promise<{ duplicate: boolean }> {
    const key = opts.headers.get('Saga-Id');
    const attempt = (this.attempts.get(opts.msgID) ?? 0) + 1;
    this.attempts.set(opts.msgID, attempt);
    if (this.keysInFlight.has(key)) this.overlap = true;
    this.keysInFlight.add(key);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.published.push({ id: opts.msgID, key, at: this.published.length });
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    this.inFlight -= 1;
    this.keysInFlight.delete(key);
    if (this.refuse.has(opts.msgID)) throw InvalidArgumentError.format('payload', 'max_payload size exceeded');
    if (this.fail(opts.msgID, attempt)) throw new Error('timeout');
    const duplicate = this.acked.includes(opts.msgID);
    if (!duplicate) this.acked.push(opts.msgID);
    return { duplicate };
  }
}

function relay(store: Store, js: ScriptedJetStream, metrics = new CoordinatorMetrics({ processMetrics: false })): OutboxRelay {
  const r = new OutboxRelay({
    store,
    nats: js,
    metrics,
    logger,
    batchSize: 50,
    maxInFlight: 8,
    publishTimeoutMs: 1000,
    pollIntervalMs: 20,
    initialBackoffMs: 1,
    maxBackoffMs: 5,
    deadLetterAfter: 3,
    subjectPrefix: 'saga',
  });
  r.start();
  cleanups.push(() => r.close());
  return r;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(STORE_BACKENDS)('OutboxRelay (%s store)', (backend) => {
  it('publishes every row once, each saga in order, with a bounded number in flight, and marks them sent', async () => {
    const store = await openStore(backend);
    const rows = Array.from({ length: 300 }, (_, i) => row(`saga-${i % 7}`));
    for (let i = 0; i < rows.length; i += 30) await store.commit({ outbox: rows.slice(i, i + 30) });
    const js = new ScriptedJetStream();
    relay(store, js);
    await until('an empty backlog', async () => (await store.outboxBacklog()).unsent === 0);
    expect(js.acked).toHaveLength(300);
    expect(new Set(js.published.map((p) => p.id)).size).toBe(300);
    expect(js.overlap, 'two events of one saga in flight at once').toBe(false);
    expect(js.maxInFlight).toBeGreaterThan(1);
    expect(js.maxInFlight).toBeLessThanOrEqual(8);
    for (let k = 0; k < 7; k++) {
      const mine = rows.filter((r) => r.orderingKey === `saga-${k}`).map((r) => r.id);
      expect(js.acked.filter((id) => mine.includes(id)), `order of saga-${k}`).toEqual(mine);
    }
  });

  it('after a failed publish, retries from the first unacknowledged row with the same ids, keeping each saga in order', async () => {
    const store = await openStore(backend);
    const rows = Array.from({ length: 60 }, (_, i) => row(`saga-${i % 3}`));
    await store.commit({ outbox: rows });
    const js = new ScriptedJetStream();
    // Fail the first attempt of every tenth event.
    const failing = new Set(rows.filter((_, i) => i % 10 === 4).map((r) => r.id));
    js.fail = (id, attempt) => failing.has(id) && attempt === 1;
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    relay(store, js, metrics);
    await until('an empty backlog', async () => (await store.outboxBacklog()).unsent === 0);
    expect(new Set(js.acked)).toEqual(new Set(rows.map((r) => r.id)));
    for (let k = 0; k < 3; k++) {
      const mine = rows.filter((r) => r.orderingKey === `saga-${k}`).map((r) => r.id);
      expect(js.acked.filter((id) => mine.includes(id)), `order of saga-${k}`).toEqual(mine);
    }
    expect(js.overlap).toBe(false);
    expect((await metrics.registry.getSingleMetric('saga_outbox_publish_errors_total')?.get())?.values[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('moves a row refused deadLetterAfter times to the dead letters with an alert; its key waits behind it, other keys go on', async () => {
    const store = await openStore(backend);
    const poison = row('saga-a');
    const behind = row('saga-a');
    const others = Array.from({ length: 5 }, () => row('saga-b'));
    await store.commit({ outbox: [poison, behind, ...others] });
    const js = new ScriptedJetStream();
    js.refuse.add(poison.id);
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const r = relay(store, js, metrics);
    await until('the dead letter', async () => (await store.countDeadLetters()) === 1);
    await until('the alert and the other key', () => others.every((o) => js.acked.includes(o.id)) && js.acked.length === others.length + 1);
    const alert = js.published.find((p) => !others.some((o) => o.id === p.id) && p.id !== poison.id);
    expect(alert).toBeDefined();
    expect(js.published.filter((p) => p.id === poison.id)).toHaveLength(3);
    expect(js.acked).not.toContain(behind.id);
    const [dead] = await store.listDeadLetters(0, 10);
    expect(dead).toMatchObject({ id: poison.id, attempts: 3, waitingBehind: 1, error: "InvalidArgumentError: 'payload' max_payload size exceeded" });
    expect((await metrics.registry.getSingleMetric('saga_outbox_dead_lettered_total')?.get())?.values[0]?.value).toBe(1);
    // Still unsent, still counted (once the acks so far are recorded); never published while its dead letter is there.
    await until('only the row behind unsent', async () => (await store.outboxBacklog()).unsent === 1);
    expect((await store.readPendingOutbox(0, 100)).map((p) => p.id)).toEqual([]);

    // Replayed after the cause is fixed: the dead letter, then the row behind it, in order.
    js.refuse.delete(poison.id);
    expect(await store.replayDeadLetter(poison.id)).toBe(true);
    r.rewind();
    await until('the replayed key', () => js.acked.includes(behind.id));
    expect(js.acked.indexOf(poison.id)).toBeLessThan(js.acked.indexOf(behind.id));
    expect(await store.countDeadLetters()).toBe(0);
  });

  it('lets the rows behind a dropped dead letter go on', async () => {
    const store = await openStore(backend);
    const poison = row('saga-a');
    const behind = row('saga-a');
    await store.commit({ outbox: [poison, behind] });
    const js = new ScriptedJetStream();
    js.refuse.add(poison.id);
    const r = relay(store, js);
    await until('the dead letter', async () => (await store.countDeadLetters()) === 1);
    expect(await store.dropDeadLetter(poison.id)).toBe(true);
    expect(await store.dropDeadLetter(poison.id)).toBe(false);
    r.rewind();
    await until('the row behind', () => js.acked.includes(behind.id));
    expect(js.acked).not.toContain(poison.id);
  });

  it('wakes on demand and publishes rows committed later', async () => {
    const store = await openStore(backend);
    const js = new ScriptedJetStream();
    const r = relay(store, js);
    const late = row('late');
    await store.commit({ outbox: [late] });
    r.wake();
    await until('the late row', () => js.acked.includes(late.id));
  });
});

describe.each(STORE_BACKENDS)('OutboxPruner (%s store)', (backend) => {
  it('deletes sent rows past their keep time and, without NATS, drops the oldest unsent coordinator events beyond the bound', async () => {
    const store = await openStore(backend);
    const events = Array.from({ length: 6 }, () => row('s'));
    const message = row('m', 'orders.created');
    await store.commit({ outbox: [events[0]!, message, ...events.slice(1)] });
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const pruner = new OutboxPruner({
      store,
      metrics,
      logger,
      keepSentMs: 1000,
      intervalMs: 1_000_000,
      batch: 2,
      bound: { maxUnsent: 3, subjectPrefixes: ['saga.events.', 'saga.steps.', 'saga.alerts.'] },
    });
    expect(await pruner.prune()).toEqual({ deleted: 0, dropped: 4 });
    // The transactional message is never dropped; the newest events are kept.
    const left = await store.readPendingOutbox(0, 100);
    expect(left.map((r) => r.id)).toEqual([message.id, ...events.slice(4).map((e) => e.id)]);

    await store.markOutboxSent([left[0]!.seq, left[1]!.seq], Date.now() - 5000);
    const unbounded = new OutboxPruner({ store, metrics, logger, keepSentMs: 1000, intervalMs: 1_000_000, batch: 2 });
    expect(await unbounded.prune()).toEqual({ deleted: 2, dropped: 0 });
    expect((await store.readPendingOutbox(0, 100)).map((r) => r.id)).toEqual([events[5]!.id]);
    expect((await store.outboxBacklog()).unsent).toBe(1);
  });

  it('deletes sent rows found by when they were sent, past an unsent row at the head', async () => {
    const store = await openStore(backend);
    const head = row('held');
    const sent = Array.from({ length: 5 }, () => row('s'));
    await store.commit({ outbox: [head, ...sent] });
    const seqs = (await store.readPendingOutbox(0, 100)).filter((r) => r.id !== head.id).map((r) => r.seq);
    await store.markOutboxSent(seqs, Date.now() - 5000);
    const metrics = new CoordinatorMetrics({ processMetrics: false });
    const pruner = new OutboxPruner({ store, metrics, logger, keepSentMs: 1000, intervalMs: 1_000_000, batch: 2 });
    expect(await pruner.prune()).toEqual({ deleted: 5, dropped: 0 });
    expect((await store.readPendingOutbox(0, 100)).map((r) => r.id)).toEqual([head.id]);
  });
});
