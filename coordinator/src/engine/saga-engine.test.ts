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
import { DEFAULT_CONFIG } from '../config/config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import { SagaEngine } from './saga-engine.js';

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

async function open(path: string, invoker: ParticipantInvoker): Promise<{ engine: SagaEngine; store: SqliteStore }> {
  const store = new SqliteStore({ path, synchronous: 'NORMAL' });
  await store.open();
  const engine = new SagaEngine({ store, invoker, logger, random: () => 0.5 });
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

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
