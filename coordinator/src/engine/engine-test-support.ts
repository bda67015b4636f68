// Helpers for engine tests: a scripted participant invoker, step and saga
// definitions, and engines over fresh SQLite files closed after each test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { DEFAULT_CONFIG } from '../config/config.js';
import type { StartSagaInput, StepDefinitionInput } from '../domain/saga-types.js';
import { validateStartSaga } from '../domain/validate-start-saga.js';
import type { Store } from '../store/store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import { SagaEngine, type SagaEngineOptions } from './saga-engine.js';

export type Behavior = (call: StepInvocation, signal: AbortSignal) => InvokeResult | Promise<InvokeResult>;

export class ScriptedInvoker implements ParticipantInvoker {
  readonly calls: StepInvocation[] = [];
  constructor(public behavior: Behavior) {}
  invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult> {
    this.calls.push(call);
    return Promise.resolve(this.behavior(call, signal));
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  trace(): string[] {
    return this.calls.map((c) => `${c.operation}:${c.stepName}#${c.attempt}`);
  }
}

export const ok: InvokeResult = { kind: 'succeeded', output: Buffer.alloc(0) };
export const logger = pino({ level: 'silent' });

export const fast = { maxAttempts: 3, attemptTimeoutMs: 1000, initialBackoffMs: 2, maxBackoffMs: 5, backoffMultiplier: 2 };

export function step(name: string, extra: Partial<StepDefinitionInput> = {}): StepDefinitionInput {
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

export function start(steps: StepDefinitionInput[], extra: Partial<StartSagaInput> = {}): ReturnType<typeof validateStartSaga> {
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

export interface EngineFixture {
  /** A fresh database file, removed after the test. */
  readonly dbPath: (name: string) => string;
  /** Opens a store on `path` and starts an engine over it (`wrap` may stand in front of the store); closed after the test. */
  readonly open: (
    path: string,
    invoker: ParticipantInvoker,
    options?: Partial<SagaEngineOptions>,
    wrap?: (store: SqliteStore) => Store,
    /** Sees the engine before it starts (recovery). */
    beforeStart?: (engine: SagaEngine) => void,
  ) => Promise<{ engine: SagaEngine; store: SqliteStore }>;
  /** Drops an engine without closing it: a crash. */
  readonly forget: (engine: SagaEngine) => void;
}

/** Registers the after-each clean-up and returns the helpers that feed it. */
export function engineFixture(): EngineFixture {
  const dirs: string[] = [];
  const engines: SagaEngine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    dbPath: (name) => {
      const dir = mkdtempSync(join(tmpdir(), `engine-${name}-`));
      dirs.push(dir);
      return join(dir, 'saga.db');
    },
    open: async (path, invoker, options = {}, wrap, beforeStart) => {
      const store = new SqliteStore({ path, synchronous: 'NORMAL' });
      await store.open();
      const engine = new SagaEngine({ store: wrap?.(store) ?? store, invoker, logger, random: () => 0.5, ...options });
      engines.push(engine);
      beforeStart?.(engine);
      await engine.start();
      return { engine, store };
    },
    forget: (engine) => {
      engines.splice(engines.indexOf(engine), 1);
    },
  };
}
