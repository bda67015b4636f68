// The outbox across crashes and configurations, with real processes: kill -9
// after JetStream acknowledged an outcome but before the coordinator recorded
// it (re-published after restart, de-duplicated by the server: seen once);
// kill -9 while NATS is down; the embedded default (no NATS) keeps events and
// publishes them once NATS is configured; and its bound drops the oldest.

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SagaOutcome } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { scalar } from '../support/sqlite-inspect.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { closedAfterEach, stepsFor, type EventsFixture } from './events-fixture.js';

const fixture = closedAfterEach();

async function completed(fx: EventsFixture, test: string): Promise<string> {
  const sagaId = idFor(test);
  const r = await fx.client.start({ sagaId, name: 'recovery', steps: stepsFor('completed'), waitMs: 20_000 });
  expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
  return sagaId;
}

const unsent = (fx: EventsFixture): Promise<number> => scalar(fx.dbPath, 'SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL');

async function drained(fx: EventsFixture): Promise<void> {
  await waitFor(async () => (await fx.scrape().catch(() => undefined))?.value('saga_outbox_backlog') === 0, 'an empty outbox backlog');
}

describe('outbox recovery', () => {
  it('re-publishes an event acknowledged just before a kill -9, and the consumer sees it once', async () => {
    const fx = await fixture('crash after publish', { env: { SAGA_TEST_CRASH_AT: 'after-outbox-publish' } });
    const events = await fx.collector('crash', 'saga.events.>');
    const sagaId = idFor('crash after publish');
    // The process may die before the answer is written; the saga id is ours anyway.
    await fx.client.start({ sagaId, name: 'recovery', steps: stepsFor('completed'), waitMs: 0 }).catch(() => undefined);
    expect(await fx.coordinator.exited).toMatchObject({ signal: 'SIGKILL' });

    // JetStream has the event; the coordinator's outbox still holds it as unsent.
    await events.waitForCount(1, 'the event stored before the crash');
    expect(await unsent(fx)).toBe(1);

    await fx.restartCoordinator({ crash: true, env: { SAGA_TEST_CRASH_AT: '' } });
    await drained(fx);
    expect(await unsent(fx)).toBe(0);
    expect((await fx.scrape()).value('saga_outbox_published_total')).toBe(1);
    await waitFor(async () => (await events.outstanding()) === 0, 'the consumer to have everything');
    expect(events.received).toHaveLength(1);
    expect(events.received[0]!.value).toMatchObject({ sagaId, eventId: events.received[0]!.msgId });
  });

  it('publishes after a kill -9 while NATS was down', async () => {
    const fx = await fixture('crash nats down', { nats: false, natsConfiguredButDown: true });
    const sagaId = await completed(fx, 'crash nats down');
    const m = await fx.scrape();
    expect(m.value('saga_outbox_backlog')).toBe(1);
    expect(m.value('saga_nats_connection_state', { state: 'connected' })).toBe(0);
    await fx.coordinator.crash();

    await fx.startNats();
    const events = await fx.collector('down', 'saga.events.>');
    await fx.restartCoordinator({ crash: true });
    await events.waitForCount(1, 'the event committed before the crash');
    await drained(fx);
    await waitFor(async () => (await events.outstanding()) === 0, 'the consumer to have everything');
    expect(events.received.map((r) => r.value.sagaId)).toEqual([sagaId]);
  });

  it('keeps events without NATS (the embedded default) and publishes the backlog once NATS is configured', async () => {
    const fx = await fixture('embedded then nats', { nats: false });
    const ids = [await completed(fx, 'embedded'), await completed(fx, 'embedded'), await completed(fx, 'embedded')];
    const m = await fx.scrape();
    expect(m.value('saga_nats_connection_state', { state: 'disabled' })).toBe(1);
    expect(m.value('saga_outbox_backlog')).toBe(3);
    expect(m.value('saga_sagas_finished_total', { saga: 'recovery', outcome: 'completed' })).toBe(3);

    await fx.startNats();
    const events = await fx.collector('embedded', 'saga.events.>');
    await fx.restartCoordinator({ nats: true });
    await events.waitForCount(3, 'the embedded backlog');
    await drained(fx);
    await waitFor(async () => (await events.outstanding()) === 0, 'the consumer to have everything');
    expect(events.received.map((r) => r.value.sagaId)).toEqual(ids);
  });

  it('creates the stream again when it was deleted under a running coordinator', async () => {
    const fx = await fixture('stream deleted');
    await completed(fx, 'stream deleted');
    await drained(fx);
    const nc = await connect({ servers: `nats://127.0.0.1:${fx.natsPort}`, timeout: 5000 });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5000 });
      expect(await jsm.streams.delete('SAGA_EVENTS')).toBe(true);
      const after = await completed(fx, 'stream deleted');
      await drained(fx);
      const info = await jsm.streams.info('SAGA_EVENTS');
      expect(info.state.messages).toBe(1);
      const msg = await jsm.streams.getMessage('SAGA_EVENTS', { seq: info.state.first_seq });
      expect(msg?.header.get('Saga-Id')).toBe(after);
    } finally {
      await nc.close();
    }
  });

  it('bounds the unsent backlog without NATS by dropping the oldest events', async () => {
    const fx = await fixture('embedded bound', { nats: false, config: { events: { outbox: { maxUnsent: 3, pruneIntervalMs: 50 } } } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await completed(fx, 'bound'));
    await waitFor(async () => (await fx.scrape()).value('saga_outbox_dropped_total') === 3, 'three dropped events');
    expect((await fx.scrape()).value('saga_outbox_backlog')).toBe(3);
    await waitFor(() => /dropped the oldest unsent events/.test(fx.coordinator.logs()), 'the warning');

    await fx.startNats();
    const events = await fx.collector('bound', 'saga.events.>');
    await fx.restartCoordinator({ nats: true });
    await events.waitForCount(3, 'the kept events');
    await drained(fx);
    await waitFor(async () => (await events.outstanding()) === 0, 'the consumer to have everything');
    expect(events.received.map((r) => r.value.sagaId)).toEqual(ids.slice(3));
  });
});
