// The message service over each real store (SQLite, PostgreSQL) and a scripted check-back
// invoker: commit/rollback and their outbox rows, check-backs, discard with
// its alert, delayed delivery, recovery after a "crash" (the service is
// dropped without close and a new one opens the same file), retention.

import { AlertEvent, AlertKind } from '@saga/proto';
import { pino } from 'pino';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import { SqliteConnection } from '../store/sqlite/sqlite-connection.js';
import type { Store } from '../store/store.js';
import { STORE_BACKENDS, useStoreFixtures } from '../testing/store-fixtures.js';
import type { CheckCall, CheckInvoker } from './check-invoker.js';
import { MessageService } from './message-service.js';
import type { MessageSettings } from './message-settings.js';
import type { CheckAnswer, PrepareInput } from './message-types.js';

type Script = (call: CheckCall) => CheckAnswer | Promise<CheckAnswer>;

class ScriptedChecks implements CheckInvoker {
  readonly calls: CheckCall[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(public script: Script = () => ({ kind: 'UNKNOWN' })) {}
  async check(call: CheckCall): Promise<CheckAnswer> {
    this.calls.push(call);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.script(call);
    } finally {
      this.inFlight -= 1;
    }
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  checksOf(id: string): number[] {
    return this.calls.filter((c) => c.messageId === id).map((c) => c.check);
  }
}

interface OutboxRowDb {
  id: string;
  subject: string;
  payload: Buffer;
  headers: string;
  ordering_key: string;
}

const logger = pino({ level: 'silent' });
const open: { close(): Promise<void> }[] = [];

const settings: MessageSettings = {
  ...DEFAULT_CONFIG.messages,
  limits: { ...DEFAULT_CONFIG.messages.limits, minCheckIntervalMs: 10 },
};
const fast = { checkAfterMs: 50, checkIntervalMs: 30, maxChecks: 3, checkTimeoutMs: 1000 };

const fixtures = useStoreFixtures();

async function start(
  path: string,
  checks: CheckInvoker,
  extra: Partial<MessageSettings> = {},
  options: { maintenanceIntervalMs?: number } = {},
): Promise<{ service: MessageService; store: Store; outbox: () => Promise<OutboxRowDb[]>; wakes: () => number }> {
  const store = fixtures.create(path);
  await store.open();
  let wakes = 0;
  const service = new MessageService({
    store,
    invoker: checks,
    settings: { ...settings, ...extra },
    isRegistered: (name) => name === 'orders',
    subjectPrefix: 'saga',
    allowedSubjects: ['orders.>'],
    logger,
    onOutboxWritten: () => (wakes += 1),
    ...options,
  });
  await service.start();
  const handle = {
    close: async () => {
      await service.close();
      await store.close();
    },
  };
  open.push(handle);
  const outbox = (): Promise<OutboxRowDb[]> => rawRows(path, 'SELECT id, subject, payload, headers, ordering_key FROM outbox ORDER BY seq');
  return { service, store, outbox, wakes: () => wakes };
}

function message(id: string, extra: Partial<PrepareInput> = {}): PrepareInput {
  return {
    messageId: id,
    subject: 'orders.created',
    key: `order-of-${id}`,
    payload: Buffer.from(JSON.stringify({ orderId: id })),
    headers: { 'Content-Type': 'application/json' },
    producer: 'orders',
    checkPolicy: fast,
    deliverAt: undefined,
    ...extra,
  };
}

/** Rows of `sql` (valid in both dialects) read straight from the store; bigint columns as numbers. */
async function rawRows<T = Record<string, unknown>>(location: string, sql: string): Promise<T[]> {
  if (location.startsWith('postgres://')) {
    const client = new pg.Client({ connectionString: location, types: { getTypeParser: bigintAsNumber } });
    await client.connect();
    try {
      return (await client.query<T & pg.QueryResultRow>(sql)).rows;
    } finally {
      await client.end();
    }
  }
  const db = await SqliteConnection.open(location, true);
  try {
    return await db.all<T>(sql);
  } finally {
    await db.close();
  }
}

const bigintAsNumber = ((oid: number, format?: 'text' | 'binary') =>
  oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'];

async function errorKind(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err.kind;
    throw err;
  }
  return 'none';
}

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

describe.each(STORE_BACKENDS)('MessageService (%s store)', (backend) => {
  const dbPath = (name: string): Promise<string> => fixtures.location(backend, `messages ${name}`);

  it('keeps a prepared message out of the outbox; commit writes its row with Nats-Msg-Id = message id, once', async () => {
    const path = await dbPath('commit');
    const { service, outbox, wakes } = await start(path, new ScriptedChecks(), {}, {});
    const prepared = await service.prepare(message('commit-1', { checkPolicy: { ...fast, checkAfterMs: 60_000 } }));
    expect(prepared).toEqual({ messageId: 'commit-1', state: 'PREPARED' });
    expect(await outbox()).toEqual([]);
    expect(await service.commit('commit-1')).toBe('COMMITTED');
    expect(await service.commit('commit-1')).toBe('COMMITTED');
    const rows = await outbox();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: 'commit-1', subject: 'orders.created', ordering_key: 'message:order-of-commit-1' });
    expect(JSON.parse(rows[0]!.headers)).toEqual({ 'Content-Type': 'application/json', 'Nats-Msg-Id': 'commit-1' });
    expect(rows[0]!.payload.toString()).toBe('{"orderId":"commit-1"}');
    expect(wakes()).toBe(1);
    expect(await errorKind(service.rollback('commit-1', 'too late'))).toBe('FAILED_PRECONDITION');
    const view = await service.get('commit-1');
    expect(view).toMatchObject({ state: 'COMMITTED', checks: 0, reason: '', nextCheckAt: undefined });
    expect(view.decidedAt).toBeGreaterThan(0);
    expect(view.enqueuedAt).toBeGreaterThan(0);
    expect(view.payload.toString()).toBe('{"orderId":"commit-1"}');
    expect(service.preparedMessages()).toBe(0);
  });

  it('rolls back idempotently, never writes an outbox row, and refuses a later commit', async () => {
    const { service, outbox } = await start(await dbPath('rollback'), new ScriptedChecks());
    await service.prepare(message('rb-1'));
    expect(await service.rollback('rb-1', 'order rejected')).toBe('ROLLED_BACK');
    expect(await service.rollback('rb-1', '')).toBe('ROLLED_BACK');
    expect(await errorKind(service.commit('rb-1'))).toBe('FAILED_PRECONDITION');
    expect(await outbox()).toEqual([]);
    expect((await service.get('rb-1')).reason).toBe('order rejected');
    expect(await errorKind(service.commit('missing'))).toBe('NOT_FOUND');
    expect(await errorKind(service.get(''))).toBe('INVALID_ARGUMENT');
  });

  it('treats the same id with the same content as the same message, and other content as ALREADY_EXISTS', async () => {
    const { service } = await start(await dbPath('idempotent'), new ScriptedChecks());
    await service.prepare(message('idem-1'));
    expect(await service.prepare(message('idem-1'))).toEqual({ messageId: 'idem-1', state: 'PREPARED' });
    expect(await errorKind(service.prepare(message('idem-1', { payload: Buffer.from('other') })))).toBe('ALREADY_EXISTS');
    await service.commit('idem-1');
    expect(await service.prepare(message('idem-1'))).toEqual({ messageId: 'idem-1', state: 'COMMITTED' });
    const generated = await service.prepare(message(''));
    expect(generated.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
  });

  it('refuses a message id already used by a coordinator event (it would be de-duplicated away)', async () => {
    const path = await dbPath('collision');
    const { service, store } = await start(path, new ScriptedChecks());
    await store.commit({
      outbox: [{ id: 'taken-id', subject: 'saga.events.x.completed', payload: Buffer.alloc(0), headers: {}, createdAt: 1, orderingKey: 'x' }],
    });
    expect(await errorKind(service.prepare(message('taken-id')))).toBe('ALREADY_EXISTS');
  });

  it('commits on a COMMIT check-back and rolls back on a ROLLBACK one, passing key, subject, headers and the check number', async () => {
    const checks = new ScriptedChecks((c) => ({ kind: c.key === 'order-of-cb-commit' ? 'COMMIT' : 'ROLLBACK' }));
    const { service, outbox } = await start(await dbPath('checkback'), checks);
    await service.prepare(message('cb-commit'));
    await service.prepare(message('cb-rollback'));
    await expect.poll(async () => (await service.get('cb-commit')).state === 'COMMITTED', { message: 'check-back commit', timeout: 5000 }).toBe(true);
    await expect.poll(async () => (await service.get('cb-rollback')).state === 'ROLLED_BACK', { message: 'check-back rollback', timeout: 5000 }).toBe(true);
    expect((await outbox()).map((r) => r.id)).toEqual(['cb-commit']);
    const call = checks.calls.find((c) => c.messageId === 'cb-commit');
    expect(call).toMatchObject({ producer: 'orders', key: 'order-of-cb-commit', subject: 'orders.created', check: 1 });
    expect(call?.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(call!.deadline - Date.now()).toBeLessThanOrEqual(1000);
    expect((await service.get('cb-rollback')).reason).toBe('check-back 1 answered ROLLBACK');
    expect((await service.get('cb-commit')).checks).toBe(1);
  });

  it('checks an undecided message max_checks times, then discards it with a MESSAGE_DISCARDED alert', async () => {
    let n = 0;
    const checks = new ScriptedChecks(() => (++n % 2 === 0 ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : { kind: 'UNKNOWN' }));
    const { service, outbox } = await start(await dbPath('discard'), checks);
    await service.prepare(message('discard-1'));
    await expect.poll(async () => (await service.get('discard-1')).state, { message: 'discard', timeout: 5000 }).toBe('DISCARDED');
    const view = await service.get('discard-1');
    expect(checks.checksOf('discard-1')).toEqual([1, 2, 3]);
    expect(view.checks).toBe(3);
    expect(view.reason).toBe('no decision after 3 check-backs (last: UNKNOWN)');
    const rows = await outbox();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject).toBe('saga.alerts.message_discarded');
    const alert = AlertEvent.decode(rows[0]!.payload);
    expect(alert).toMatchObject({ kind: AlertKind.ALERT_KIND_MESSAGE_DISCARDED, firing: true, value: 3, threshold: 3, subjectId: 'discard-1' });
    expect(alert.eventId).toBe(rows[0]!.id);
    expect(JSON.parse(rows[0]!.headers)).toMatchObject({ 'Nats-Msg-Id': rows[0]!.id, 'Message-Id': 'discard-1' });
    // No further checks once discarded; a rollback is a no-op, a commit is refused.
    expect(await service.rollback('discard-1', '')).toBe('DISCARDED');
    expect(await errorKind(service.commit('discard-1'))).toBe('FAILED_PRECONDITION');
    expect(checks.checksOf('discard-1')).toEqual([1, 2, 3]);
  });

  it('ignores a check-back answer that arrives after the producer decided', async () => {
    let release: (a: CheckAnswer) => void = () => undefined;
    const checks = new ScriptedChecks(() => new Promise<CheckAnswer>((r) => (release = r)));
    const { service, outbox } = await start(await dbPath('stale'), checks);
    await service.prepare(message('stale-1'));
    await expect.poll(() => checks.calls.length === 1, { message: 'the check-back call', timeout: 5000 }).toBe(true);
    expect(await service.commit('stale-1')).toBe('COMMITTED');
    release({ kind: 'ROLLBACK' });
    await expect.poll(() => checks.inFlight === 0, { message: 'the call to settle', timeout: 5000 }).toBe(true);
    // The answer was dropped under the message's lock; a later read sees the commit.
    await service.commit('stale-1');
    expect((await service.get('stale-1')).state).toBe('COMMITTED');
    expect((await outbox()).map((r) => r.id)).toEqual(['stale-1']);
  });

  it('publishes a committed message only once its deliver_at has come', async () => {
    const { service, outbox } = await start(await dbPath('delayed'), new ScriptedChecks());
    // Far enough ahead that prepare, commit and the reads below (a new connection each on PostgreSQL) finish first on a loaded machine.
    const deliverAt = Date.now() + 1500;
    await service.prepare(message('later-1', { deliverAt }));
    expect(await service.commit('later-1')).toBe('COMMITTED');
    expect(await outbox()).toEqual([]);
    expect((await service.get('later-1')).enqueuedAt).toBeUndefined();
    await expect.poll(async () => (await outbox()).length === 1, { message: 'the delayed delivery', timeout: 5000 }).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(deliverAt);
    expect((await service.get('later-1')).deliverAt).toBe(deliverAt);
  });

  it('survives a crash: check-backs and delayed deliveries resume from the log after a restart', async () => {
    const path = await dbPath('restart');
    const checks = new ScriptedChecks(() => ({ kind: 'COMMIT' }));
    const first = await start(path, checks);
    await first.service.prepare(message('r-prepared', { checkPolicy: { ...fast, checkAfterMs: 300 } }));
    await first.service.prepare(message('r-delayed', { deliverAt: Date.now() + 300, checkPolicy: { ...fast, checkAfterMs: 60_000 } }));
    await first.service.commit('r-delayed');
    // "kill -9": the first instance just stops (its timers die with it), without writing anything more.
    await open.shift()!.close();
    expect(checks.calls).toEqual([]);
    const second = await start(path, checks);
    await expect.poll(async () => (await second.service.get('r-prepared')).state === 'COMMITTED', { message: 'the check-back after restart', timeout: 5000 }).toBe(true);
    await expect.poll(async () => (await second.outbox()).length === 2, { message: 'both deliveries', timeout: 5000 }).toBe(true);
    expect((await second.outbox()).map((r) => r.id).sort()).toEqual(['r-delayed', 'r-prepared']);
    expect(checks.checksOf('r-prepared')).toEqual([1]);
  });

  it('bounds check-back calls in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const checks = new ScriptedChecks(async () => {
      await gate;
      return { kind: 'ROLLBACK' };
    });
    const { service } = await start(await dbPath('bounded'), checks, { maxConcurrentChecks: 2 });
    for (let i = 0; i < 6; i++) await service.prepare(message(`b-${i}`));
    await expect.poll(() => checks.calls.length === 2, { message: 'two calls', timeout: 5000 }).toBe(true);
    expect(checks.inFlight).toBe(2);
    release();
    await expect.poll(async () => {
      for (let i = 0; i < 6; i++) if ((await service.get(`b-${i}`)).state !== 'ROLLED_BACK') return false;
      return true;
    }, { message: 'all rolled back', timeout: 5000 }).toBe(true);
    expect(checks.maxInFlight).toBe(2);
  });

  it('refuses new messages beyond maxPrepared with RESOURCE_EXHAUSTED', async () => {
    const { service } = await start(await dbPath('capacity'), new ScriptedChecks(), { maxPrepared: 2 });
    await service.prepare(message('cap-1', { checkPolicy: { ...fast, checkAfterMs: 60_000 } }));
    await service.prepare(message('cap-2', { checkPolicy: { ...fast, checkAfterMs: 60_000 } }));
    expect(await errorKind(service.prepare(message('cap-3')))).toBe('RESOURCE_EXHAUSTED');
    await service.rollback('cap-1', '');
    expect((await service.prepare(message('cap-3', { checkPolicy: { ...fast, checkAfterMs: 60_000 } }))).state).toBe('PREPARED');
  });

  it('records published_at from the outbox and deletes decided messages after the retention', async () => {
    const path = await dbPath('maintenance');
    const { service, store } = await start(path, new ScriptedChecks(), { retentionMs: 300 }, { maintenanceIntervalMs: 20 });
    await service.prepare(message('keep-1', { checkPolicy: { ...fast, checkAfterMs: 60_000 } }));
    await service.prepare(message('pub-1'));
    await service.commit('pub-1');
    const [row] = await store.readPendingOutbox(0, 10);
    await store.markOutboxSent([row!.seq], 1234);
    expect((await service.get('pub-1')).publishedAt).toBe(1234);
    // Copied into the message, so it outlives the pruning of sent outbox rows.
    await expect.poll(async () => (await rawRows(path, "SELECT published_at AS p FROM tx_messages WHERE id = 'pub-1'"))[0]?.p === 1234, { message: 'published_at copied', timeout: 5000 }).toBe(true);
    await expect.poll(async () => (await errorKind(service.get('pub-1'))) === 'NOT_FOUND', { message: 'retention', timeout: 5000 }).toBe(true);
    // Undecided messages are never deleted.
    expect((await service.get('keep-1')).state).toBe('PREPARED');
  });
});
