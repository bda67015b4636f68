// The engine over a real SQLite store and a scripted participant invoker:
// ordering, retries, compensation, MANUAL, recovery after a "crash" (the engine
// is dropped without close and a new one opens the same file).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { StartSagaInput, StepDefinitionInput } from '../domain/saga-types.js';
import { validateStartSaga } from '../domain/validate-start-saga.js';
import { DomainError } from '../domain/errors.js';
import { DEFAULT_CONFIG } from '../config/config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import { SagaEngine, type SagaEngineOptions } from './saga-engine.js';

type Behavior = (call: StepInvocation) => InvokeResult | Promise<InvokeResult>;

class ScriptedInvoker implements ParticipantInvoker {
  readonly calls: StepInvocation[] = [];
  constructor(public behavior: Behavior) {}
  invoke(call: StepInvocation): Promise<InvokeResult> {
    this.calls.push(call);
    return Promise.resolve(this.behavior(call));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  trace(): string[] {
    return this.calls.map((c) => `${c.operation}:${c.stepName}#${c.attempt}`);
  }
}

const ok: InvokeResult = { kind: 'succeeded', output: Buffer.alloc(0) };
const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const engines: SagaEngine[] = [];

function dbPath(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `engine-${name}-`));
  dirs.push(dir);
  return join(dir, 'saga.db');
}

async function open(
  path: string,
  invoker: ParticipantInvoker,
  options: Partial<SagaEngineOptions> = {},
): Promise<{ engine: SagaEngine; store: SqliteStore }> {
  const store = new SqliteStore({ path, synchronous: 'NORMAL' });
  await store.open();
  const engine = new SagaEngine({ store, invoker, logger, random: () => 0.5, ...options });
  engines.push(engine);
  await engine.start();
  return { engine, store };
}

const fast = { maxAttempts: 3, attemptTimeoutMs: 1000, initialBackoffMs: 2, maxBackoffMs: 5, backoffMultiplier: 2 };

function step(name: string, extra: Partial<StepDefinitionInput> = {}): StepDefinitionInput {
  return {
    name,
    participant: 'p',
    action: name,
    compensateAction: '',
    payload: Buffer.from(name),
    dependsOn: [],
    noCompensation: false,
    retry: fast,
    compensationRetry: fast,
    metadata: {},
    ...extra,
  };
}

function start(steps: StepDefinitionInput[], extra: Partial<StartSagaInput> = {}): ReturnType<typeof validateStartSaga> {
  const input: StartSagaInput = {
    sagaId: '',
    name: 'test-saga',
    steps,
    deadlineMs: 0,
    defaultRetry: undefined,
    defaultCompensationRetry: undefined,
    metadata: {},
    waitMs: 5000,
    ...extra,
  };
  return validateStartSaga(input, DEFAULT_CONFIG.limits, DEFAULT_CONFIG.retry, () => 'registered');
}

afterEach(async () => {
  for (const e of engines.splice(0)) await e.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SagaEngine', () => {
  it('runs sequential steps in order and passes outputs on', async () => {
    const invoker = new ScriptedInvoker((c) => ({ kind: 'succeeded', output: Buffer.from(`out-${c.stepName}`) }));
    const { engine } = await open(dbPath('happy'), invoker);
    const r = await engine.startSaga(start([step('a'), step('b'), step('c')]));
    expect(r.outcome).toBe('COMPLETED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1', 'execute:c#1']);
    expect(invoker.calls[2]?.outputs.get('a')?.toString()).toBe('out-a');
    expect(invoker.calls[2]?.outputs.get('b')?.toString()).toBe('out-b');
    const view = await engine.getSaga(r.sagaId);
    expect(view.steps.map((s) => s.executeStatus)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(view.steps[1]?.output?.toString()).toBe('out-b');
  });

  it('compensates every dispatched step in reverse order, including the failed one', async () => {
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' && c.stepName === 'c' ? { kind: 'failed', code: 'NOPE', message: 'no' } : ok,
    );
    const { engine } = await open(dbPath('reverse'), invoker);
    const r = await engine.startSaga(start([step('a'), step('b'), step('c'), step('d')]));
    expect(r.outcome).toBe('COMPENSATED');
    expect(r.failedStep).toBe('c');
    expect(invoker.trace()).toEqual([
      'execute:a#1',
      'execute:b#1',
      'execute:c#1',
      'compensate:c#1',
      'compensate:b#1',
      'compensate:a#1',
    ]);
    const view = await engine.getSaga(r.sagaId);
    expect(view.steps.map((s) => s.compensateStatus)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SKIPPED']);
    expect(view.forwardStatus).toBe('FAILED');
  });

  it('retries transient errors with the same idempotency key, then succeeds', async () => {
    const invoker = new ScriptedInvoker((c) => (c.attempt < 3 ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : ok));
    const { engine } = await open(dbPath('retry'), invoker);
    const r = await engine.startSaga(start([step('a')]));
    expect(r.outcome).toBe('COMPLETED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:a#2', 'execute:a#3']);
    expect(new Set(invoker.calls.map((c) => c.idempotencyKey)).size).toBe(1);
    const view = await engine.getSaga(r.sagaId);
    expect(view.steps[0]?.attempts.map((a) => a.outcome)).toEqual(['ERROR', 'ERROR', 'SUCCEEDED']);
  });

  it('goes to MANUAL when compensation is exhausted, and RetrySaga finishes it', async () => {
    let broken = true;
    const invoker = new ScriptedInvoker((c) => {
      if (c.operation === 'execute') return c.stepName === 'b' ? { kind: 'failed', code: 'X', message: 'x' } : ok;
      return broken && c.stepName === 'a' ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : ok;
    });
    const { engine } = await open(dbPath('manual'), invoker);
    const r = await engine.startSaga(start([step('a'), step('b')]));
    expect(r.outcome).toBe('MANUAL');
    expect(invoker.trace().filter((t) => t.startsWith('compensate:a'))).toHaveLength(3);
    await expect(engine.resolve(r.sagaId, '')).rejects.toMatchObject({ kind: 'INVALID_ARGUMENT' });
    broken = false;
    expect(await engine.retry(r.sagaId)).toBe('COMPENSATING');
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(invoker.trace().at(-1)).toBe('compensate:a#4');
    await expect(engine.retry(r.sagaId)).rejects.toMatchObject({ kind: 'FAILED_PRECONDITION' });
  });

  it('resolves a MANUAL saga with a note', async () => {
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' ? { kind: 'failed', code: 'X', message: 'x' } : { kind: 'failed', code: 'SHIPPED', message: 'cannot undo' },
    );
    const { engine } = await open(dbPath('resolve'), invoker);
    const r = await engine.startSaga(start([step('a')]));
    expect(r.outcome).toBe('MANUAL');
    expect(await engine.resolve(r.sagaId, 'refunded by hand')).toBe('RESOLVED');
    const view = await engine.getSaga(r.sagaId);
    expect(view.resolutionNote).toBe('refunded by hand');
  });

  it('runs independent branches in parallel and compensates in reverse dependency order', async () => {
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' && c.stepName === 'join' ? { kind: 'failed', code: 'X', message: 'x' } : ok,
    );
    const { engine } = await open(dbPath('graph'), invoker);
    const r = await engine.startSaga(
      start([step('root'), step('left', { dependsOn: ['root'] }), step('right', { dependsOn: ['root'] }), step('join', { dependsOn: ['left', 'right'] })]),
    );
    expect(r.outcome).toBe('COMPENSATED');
    const t = invoker.trace();
    expect(t.slice(0, 1)).toEqual(['execute:root#1']);
    expect(new Set(t.slice(1, 3))).toEqual(new Set(['execute:left#1', 'execute:right#1']));
    expect(t[3]).toBe('execute:join#1');
    expect(t[4]).toBe('compensate:join#1');
    expect(new Set(t.slice(5, 7))).toEqual(new Set(['compensate:left#1', 'compensate:right#1']));
    expect(t[7]).toBe('compensate:root#1');
  });

  it('answers StartSaga idempotently by saga id', async () => {
    const invoker = new ScriptedInvoker(() => ok);
    const { engine } = await open(dbPath('idem'), invoker);
    const first = await engine.startSaga(start([step('a')], { sagaId: 'order-1' }));
    const again = await engine.startSaga(start([step('a')], { sagaId: 'order-1' }));
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ sagaId: 'order-1', created: false, outcome: 'COMPLETED' });
    await expect(engine.startSaga(start([step('b')], { sagaId: 'order-1' }))).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
    expect(invoker.calls).toHaveLength(1);
  });

  it('re-sends an in-doubt call with the same attempt and key after a crash', async () => {
    const path = dbPath('recover');
    const hung = new ScriptedInvoker(() => new Promise<InvokeResult>(() => undefined));
    const first = await open(path, hung);
    const r = await first.engine.startSaga(start([step('a'), step('b')], { waitMs: 0 }));
    expect(hung.calls).toHaveLength(1);
    // "kill -9": drop the first engine without closing it; the intent is durable.
    engines.splice(engines.indexOf(first.engine), 1);
    // The kernel releases a killed process's owner lock of the file; here the store lets go of it.
    await first.store.close();
    const invoker = new ScriptedInvoker(() => ok);
    const second = await open(path, invoker);
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1']);
    expect(invoker.calls[0]?.idempotencyKey).toBe(hung.calls[0]?.idempotencyKey);
    const view = await second.engine.getSaga(r.sagaId);
    expect(view.steps[0]?.attempts[0]?.resent).toBe(1);
  });

  it('compensates when the saga deadline passes', async () => {
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' && c.stepName === 'b' ? { kind: 'error', code: 'UNAVAILABLE', message: 'slow' } : ok,
    );
    const { engine } = await open(dbPath('deadline'), invoker);
    const slow = { maxAttempts: 1000, attemptTimeoutMs: 1000, initialBackoffMs: 20, maxBackoffMs: 20, backoffMultiplier: 1 };
    const r = await engine.startSaga(start([step('a'), step('b', { retry: slow })], { deadlineMs: 200 }));
    expect(r.outcome).toBe('COMPENSATED');
    const view = await engine.getSaga(r.sagaId);
    expect(view.forwardStatus).toBe('DEADLINE_EXCEEDED');
    expect(invoker.trace().slice(-2)).toEqual(['compensate:b#1', 'compensate:a#1']);
  });

  it('aborts a running saga', async () => {
    let release: (r: InvokeResult) => void = () => undefined;
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' && c.stepName === 'b' ? new Promise<InvokeResult>((res) => (release = res)) : ok,
    );
    const { engine } = await open(dbPath('abort'), invoker);
    const r = await engine.startSaga(start([step('a'), step('b'), step('c')], { waitMs: 0 }));
    await waitFor(() => invoker.calls.length === 2);
    expect(await engine.abort(r.sagaId, 'customer cancelled')).toBe('COMPENSATING');
    release(ok);
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1', 'compensate:b#1', 'compensate:a#1']);
    const view = await engine.getSaga(r.sagaId);
    expect(view).toMatchObject({ forwardStatus: 'ABORTED', failureReason: 'customer cancelled' });
  });
});

describe('SagaEngine admission', () => {
  it('refuses a new saga when admission control sheds, but still answers a repeated start of an existing one', async () => {
    const invoker = new ScriptedInvoker(() => ok);
    let shedding = false;
    const admission = {
      check(): void {
        if (shedding) throw new DomainError('RESOURCE_EXHAUSTED', 'overloaded; retry later', true);
      },
    };
    const { engine, store } = await open(dbPath('admission'), invoker, { admission });
    const first = await engine.startSaga(start([step('a')], { sagaId: 'order-1' }));
    expect(first.outcome).toBe('COMPLETED');
    shedding = true;
    await expect(engine.startSaga(start([step('a')], { sagaId: 'order-2' }))).rejects.toMatchObject({ kind: 'RESOURCE_EXHAUSTED' });
    expect(await store.getSagaRow('order-2')).toBeUndefined();
    const again = await engine.startSaga(start([step('a')], { sagaId: 'order-1' }));
    expect(again).toMatchObject({ created: false, outcome: 'COMPLETED' });
    expect(invoker.calls).toHaveLength(1);
  });
});

describe('SagaEngine with parked sagas evicted from memory', () => {
  // Backoff 300 ms (full jitter at random 0.5 → 150 ms), eviction from 50 ms: every retry parks.
  const parking = { maxAttempts: 5, attemptTimeoutMs: 1000, initialBackoffMs: 300, maxBackoffMs: 300, backoffMultiplier: 1 };

  /** Execute of `failing` answers UNAVAILABLE until `heal()`; everything else succeeds. */
  function flaky(failing: string): { invoker: ScriptedInvoker; heal: () => void } {
    let healed = false;
    const invoker = new ScriptedInvoker((c) =>
      !healed && c.operation === 'execute' && c.stepName === failing ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : ok,
    );
    return { invoker, heal: () => (healed = true) };
  }

  it('drops a saga waiting out a backoff from memory and reloads it from the log when its timer fires', async () => {
    const { invoker, heal } = flaky('b');
    const { engine } = await open(dbPath('evict'), invoker, { evictParkedAfterMs: 50 });
    const r = await engine.startSaga(start([step('a', { retry: parking }), step('b', { retry: parking }), step('c')], { waitMs: 0 }));
    await waitFor(() => engine.parkedCount() === 1);
    expect(engine.activeCount()).toBe(1);
    // GetSaga of a parked saga comes from the log, with its next attempt time.
    const view = await engine.getSaga(r.sagaId);
    expect(view.state).toBe('RUNNING');
    expect(view.steps[1]?.executeStatus).toBe('RUNNING');
    expect(view.steps[1]?.nextAttemptAt).toBeGreaterThan(Date.now() - 1000);
    heal();
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1', 'execute:b#2', 'execute:c#1']);
    // The reloaded saga passed the earlier step's output on, and kept its key.
    expect(invoker.calls[2]?.idempotencyKey).toBe(invoker.calls[1]?.idempotencyKey);
    expect(engine.parkedCount()).toBe(0);
    expect(engine.activeCount()).toBe(0);
  });

  it('aborts a parked saga: it is reloaded and compensated', async () => {
    const { invoker } = flaky('b');
    const { engine } = await open(dbPath('evict-abort'), invoker, { evictParkedAfterMs: 50 });
    const slow = { ...parking, initialBackoffMs: 60_000, maxBackoffMs: 60_000 };
    const r = await engine.startSaga(start([step('a'), step('b', { retry: slow })], { waitMs: 0 }));
    await waitFor(() => engine.parkedCount() === 1);
    expect(engine.compensatingSince()).toEqual([]);
    expect(await engine.abort(r.sagaId, 'customer cancelled')).toBe('COMPENSATING');
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1', 'compensate:b#1', 'compensate:a#1']);
    expect(engine.parkedCount()).toBe(0);
  });

  it('keeps a parked compensation visible to the slow-compensation alert', async () => {
    let failCompensation = true;
    const invoker = new ScriptedInvoker((c) => {
      if (c.operation === 'execute' && c.stepName === 'b') return { kind: 'failed', code: 'NOPE', message: 'no' };
      if (c.operation === 'compensate' && c.stepName === 'a' && failCompensation) return { kind: 'error', code: 'UNAVAILABLE', message: 'down' };
      return ok;
    });
    const { engine } = await open(dbPath('evict-comp'), invoker, { evictParkedAfterMs: 50 });
    const r = await engine.startSaga(start([step('a', { compensationRetry: parking }), step('b')], { name: 'comp-saga', waitMs: 0 }));
    await waitFor(() => engine.parkedCount() === 1);
    expect(engine.compensatingSince()).toMatchObject([{ sagaId: r.sagaId, sagaName: 'comp-saga' }]);
    failCompensation = false;
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(engine.compensatingSince()).toEqual([]);
  });

  it('resumes parked sagas after a crash and parks them again', async () => {
    const path = dbPath('evict-recover');
    const down = flaky('a');
    const first = await open(path, down.invoker, { evictParkedAfterMs: 50 });
    const slow = { ...parking, initialBackoffMs: 60_000, maxBackoffMs: 60_000 };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await first.engine.startSaga(start([step('a', { retry: slow })], { waitMs: 0 }))).sagaId);
    await waitFor(() => first.engine.parkedCount() === 3);
    engines.splice(engines.indexOf(first.engine), 1);
    // The kernel releases a killed process's owner lock of the file; here the store lets go of it.
    await first.store.close();
    const second = await open(path, new ScriptedInvoker(() => ok), { evictParkedAfterMs: 50 });
    await waitFor(() => second.engine.parkedCount() === 3);
    expect(second.engine.activeCount()).toBe(3);
    // A command reloads it; AbortSaga of a saga that only failed transiently compensates its step.
    expect(await second.engine.abort(ids[0]!, 'stop')).toBe('COMPENSATING');
    expect(await second.engine.waitForOutcome(ids[0]!, 5000)).toBe('COMPENSATED');
    expect(second.engine.parkedCount()).toBe(2);
  });

  it('keeps every active saga in memory when eviction is off', async () => {
    const { invoker, heal } = flaky('a');
    const { engine } = await open(dbPath('no-evict'), invoker, { evictParkedAfterMs: 0 });
    const r = await engine.startSaga(start([step('a', { retry: parking })], { waitMs: 0 }));
    await waitFor(() => invoker.calls.length === 1);
    await engine.getSaga(r.sagaId);
    expect(engine.parkedCount()).toBe(0);
    expect(engine.activeCount()).toBe(1);
    heal();
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
  });

  it('refuses a negative eviction threshold', () => {
    const store = new SqliteStore({ path: dbPath('evict-bad'), synchronous: 'NORMAL' });
    expect(() => new SagaEngine({ store, invoker: new ScriptedInvoker(() => ok), logger, evictParkedAfterMs: -1 })).toThrow(/evictParkedAfterMs/);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
