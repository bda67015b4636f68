// Two engines on one PostgreSQL database (real server): a saga of engine A
// whose instance expired is claimed by engine B and resumed under epoch 2
// (the in-doubt call re-sent with the same key); A's late result is refused
// by the fence, A drops the saga without failing and sends nothing more for
// it; every call carries its epoch in the saga-fencing-epoch metadata entry.
// A MANUAL saga retried on the other engine is taken over (epoch bumped) and
// finished there, once. A lost lease makes an engine drop everything it holds.

import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ok, ScriptedInvoker, start, step } from '../engine/engine-test-support.js';
import type { InvokeResult } from '../engine/participant-invoker.js';
import { SagaEngine } from '../engine/saga-engine.js';
import { EPOCH_METADATA_KEY } from '../engine/step-call.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { FIRST_EPOCH } from '../store/store.js';
import { expireLease } from '../testing/expire-lease.js';
import { useStoreFixtures } from '../testing/store-fixtures.js';

const fixtures = useStoreFixtures();
const logger = pino({ level: 'silent' });
// Registered after the fixtures' hook, so run before it: engines close before their stores.
const engines: SagaEngine[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
});


async function engineOn(url: string, name: string, invoker: ScriptedInvoker): Promise<{ engine: SagaEngine; store: PostgresStore; fatal: Error[] }> {
  const store = fixtures.track(new PostgresStore({ url, instance: name }));
  await store.open();
  const engine = new SagaEngine({ store, invoker, logger, random: () => 0.5, evictParkedAfterMs: 0, drainTimeoutMs: 100 });
  engines.push(engine);
  const fatal: Error[] = [];
  engine.onFatal((err) => fatal.push(err));
  await engine.start();
  return { engine, store, fatal };
}

describe('engines sharing a PostgreSQL store', () => {
  it("drops a saga whose write was fenced after another engine claimed it, and the claimer finishes it under the new epoch", async () => {
    const url = await fixtures.location('postgres', 'engine fencing');
    let releaseA: ((r: InvokeResult) => void) | undefined;
    const invokerA = new ScriptedInvoker(() => new Promise<InvokeResult>((resolve) => (releaseA = resolve)));
    const a = await engineOn(url, 'a', invokerA);
    const invokerB = new ScriptedInvoker(() => ok);
    const b = await engineOn(url, 'b', invokerB);
    try {
      const started = await a.engine.startSaga(start([step('first'), step('second')], { waitMs: 0 }));
      await vi.waitFor(() => expect(invokerA.calls).toHaveLength(1));
      expect(invokerA.calls[0]?.metadata[EPOCH_METADATA_KEY]).toBe(String(FIRST_EPOCH));

      await expireLease(url, a.store.ownership.instanceId());
      let inDoubt = 0;
      expect(await b.store.ownership.claimOrphans(10, (c) => (inDoubt += b.engine.adopt(c)))).toBe(1);
      expect(inDoubt).toBe(1);
      expect(await b.engine.waitForOutcome(started.sagaId, 10_000)).toBe('COMPLETED');
      // B re-sent the in-doubt call with the same key, then ran the next step, all under epoch 2.
      expect(invokerB.calls.map((c) => [c.stepName, c.idempotencyKey, c.metadata[EPOCH_METADATA_KEY]])).toEqual([
        ['first', invokerA.calls[0]?.idempotencyKey, String(FIRST_EPOCH + 1)],
        ['second', `${started.sagaId}/second/execute`, String(FIRST_EPOCH + 1)],
      ]);
      const journal = (await b.engine.getSaga(started.sagaId)).version;

      // A's call answers late: its result is refused by the fence; A drops the saga, does not fail, sends nothing more.
      releaseA?.(ok);
      await vi.waitFor(() => expect(a.engine.activeCount()).toBe(0));
      expect(a.fatal).toEqual([]);
      expect(a.store.failure()).toBeUndefined();
      expect(invokerA.calls).toHaveLength(1);
      expect((await b.engine.getSaga(started.sagaId)).version).toBe(journal);
    } finally {
      releaseA?.(ok);
    }
  });

  it('retries a MANUAL saga on the instance that did not run it, once, and the first instance then finds it no longer MANUAL', async () => {
    const url = await fixtures.location('postgres', 'engine retry elsewhere');
    const fails = (c: { operation: string; stepName: string }): InvokeResult | undefined =>
      c.operation === 'execute' && c.stepName === 'b' ? { kind: 'failed', code: 'X', message: 'x' } : undefined;
    const invokerA = new ScriptedInvoker(
      (c) => fails(c) ?? (c.operation === 'compensate' && c.stepName === 'a' ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : ok),
    );
    const a = await engineOn(url, 'a', invokerA);
    const invokerB = new ScriptedInvoker((c) => fails(c) ?? ok);
    const b = await engineOn(url, 'b', invokerB);
    const r = await a.engine.startSaga(start([step('a'), step('b')]));
    expect(r.outcome).toBe('MANUAL');
    expect(await b.engine.retry(r.sagaId)).toBe('COMPENSATING');
    expect(await b.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(invokerB.calls.map((c) => [c.operation, c.stepName, c.metadata[EPOCH_METADATA_KEY]])).toEqual([['compensate', 'a', String(FIRST_EPOCH + 1)]]);
    await expect(a.engine.retry(r.sagaId)).rejects.toMatchObject({ kind: 'FAILED_PRECONDITION' });
    expect(a.fatal).toEqual([]);
  });

  it('drops every saga it holds when its lease is found expired, and goes on as a new instance', async () => {
    const url = await fixtures.location('postgres', 'engine lease lost');
    const invoker = new ScriptedInvoker(() => new Promise<InvokeResult>(() => undefined));
    const a = await engineOn(url, 'a', invoker);
    a.store.ownership.onLeaseLost((err) => a.engine.dropAll(err.message));
    await a.engine.startSaga(start([step('held')], { waitMs: 0 }));
    await a.engine.startSaga(start([step('held')], { waitMs: 0 }));
    await vi.waitFor(() => expect(invoker.calls).toHaveLength(2));
    const before = a.store.ownership.instanceId();
    await expireLease(url, before);
    await vi.waitFor(() => expect(a.engine.activeCount()).toBe(0), { timeout: 10_000 });
    await vi.waitFor(() => expect(a.store.ownership.instanceId()).not.toBe(before), { timeout: 10_000 });
    expect(a.fatal).toEqual([]);
  });
});
