// The engine when a write of its own is refused while the log goes on (a
// WriteConflictError, the store's isolated unit): a StartSaga that lost the
// insert race on its new id is answered as a repeat of the winner; a RetrySaga
// whose write failed leaves memory as the log has it, so a second one works.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/config.js';
import type { StepDefinitionInput } from '../domain/saga-types.js';
import { validateStartSaga, type ValidatedStart } from '../domain/validate-start-saga.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { WriteUnit } from '../store/store.js';
import { WriteConflictError } from '../store/write-conflict-error.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import { SagaEngine } from './saga-engine.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A real store whose next commit can be made to fail, or to lose a race on a saga id. */
class ScriptedStore extends SqliteStore {
  failNext = false;
  /** The next insert of this saga id finds the same saga inserted just before it (the winner). */
  raceOn: string | undefined;

  override async commit(unit: WriteUnit): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new WriteConflictError(new Error('scripted constraint failure'));
    }
    const insert = unit.inserts?.[0];
    if (insert !== undefined && insert.id === this.raceOn) {
      this.raceOn = undefined;
      await super.commit({ ...unit, inserts: [{ ...insert, key: await this.nextSagaKey() }], journal: [] });
    }
    return super.commit(unit);
  }
}

const fast = { maxAttempts: 2, attemptTimeoutMs: 1000, initialBackoffMs: 1, maxBackoffMs: 2, backoffMultiplier: 2 };

function start(sagaId: string, steps: string[]): ValidatedStart {
  const step = (name: string): StepDefinitionInput => ({
    name,
    participant: 'p',
    action: name,
    compensateAction: `undo-${name}`,
    payload: Buffer.alloc(0),
    dependsOn: [],
    noCompensation: false,
    retry: fast,
    compensationRetry: fast,
    metadata: {},
  });
  return validateStartSaga(
    {
      sagaId,
      name: 'write-failure',
      steps: steps.map(step),
      deadlineMs: 0,
      defaultRetry: undefined,
      defaultCompensationRetry: undefined,
      metadata: {},
      waitMs: 0,
    },
    DEFAULT_CONFIG.limits,
    DEFAULT_CONFIG.retry,
    () => 'registered',
  );
}

async function open(name: string, behavior: (c: StepInvocation) => InvokeResult | Promise<InvokeResult>): Promise<{ engine: SagaEngine; store: ScriptedStore }> {
  const dir = mkdtempSync(join(tmpdir(), `engine-${name}-`));
  const store = new ScriptedStore({ path: join(dir, 'saga.db'), synchronous: 'NORMAL' });
  await store.open();
  const invoker: ParticipantInvoker = { invoke: (c) => Promise.resolve(behavior(c)), close: () => Promise.resolve() };
  const engine = new SagaEngine({ store, invoker, logger, random: () => 0.5 });
  await engine.start();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => store.close(), () => engine.close());
  return { engine, store };
}

const ok: InvokeResult = { kind: 'succeeded', output: Buffer.alloc(0) };

describe('SagaEngine when one of its writes is refused', () => {
  it('answers a StartSaga that lost the insert race on its id as a repeat of the winner', async () => {
    const { engine, store } = await open('race', () => new Promise<InvokeResult>(() => undefined));
    store.raceOn = 'order-7';
    const r = await engine.startSaga(start('order-7', ['a']));
    expect(r).toMatchObject({ sagaId: 'order-7', created: false, state: 'RUNNING' });
    expect(store.failure()).toBeUndefined();
  });

  it('leaves a MANUAL saga as the log has it when the RetrySaga write fails, so a second RetrySaga works', async () => {
    let broken = true;
    const { engine, store } = await open('retry', (c) => {
      if (c.operation === 'execute') return c.stepName === 'b' ? { kind: 'failed', code: 'X', message: 'x' } : ok;
      return broken ? { kind: 'error', code: 'UNAVAILABLE', message: 'down' } : ok;
    });
    const { sagaId } = await engine.startSaga(start('order-8', ['a', 'b']));
    expect(await engine.waitForOutcome(sagaId, 5000)).toBe('MANUAL');
    broken = false;
    store.failNext = true;
    await expect(engine.retry(sagaId)).rejects.toBeInstanceOf(WriteConflictError);
    expect(engine.activeCount()).toBe(0);
    expect(await engine.retry(sagaId)).toBe('COMPENSATING');
    expect(await engine.waitForOutcome(sagaId, 5000)).toBe('COMPENSATED');
  });
});
