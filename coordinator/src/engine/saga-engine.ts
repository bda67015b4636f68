// Drives sagas: every change is decided by the pure decider, made durable
// through the Store (group-committed), and only then acted on: a call goes out
// after its dispatch intent is durable, and the next step is decided in the
// same write as the previous step's result. I/O (store, participants, time) is
// injected. On a store several coordinators share, this instance holds each
// saga under a fencing epoch: a write the epoch refuses (another instance took
// the saga over) drops the saga here; claimed sagas are adopted through recovery.

import type { Logger } from 'pino';
import {
  DomainError,
  failedPrecondition,
  invalidArgument,
  notFound,
  resourceExhausted,
  unavailable,
} from '../domain/errors.js';
import type { ListSagasFilter, SagaState, SagaView, StartSagaResult } from '../domain/saga-types.js';
import type { ValidatedStart } from '../domain/validate-start-saga.js';
import { FIRST_EPOCH, type ClaimedSaga, type SagaOwnership, type SagaRow, type Store } from '../store/store.js';
import { StoreFailedError } from '../store/group-commit.js';
import { SagaFencedError } from '../store/saga-fenced-error.js';
import type { Clock } from './clock.js';
import { beginsCompensation, type DispatchEvent, type JournalEvent } from '../domain/journal-event.js';
import type { InvokeResult, ParticipantInvoker } from './participant-invoker.js';
import { abortEvent, decide, resultEvent } from './saga-decider.js';
import { applyEvent, SagaRuntime } from './saga-runtime.js';
import { TimerQueue } from './timer-queue.js';
import { newSagaId } from './saga-id.js';
import { compactDefinition } from './compact-definition.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { WriteConflictError } from '../store/write-conflict-error.js';
import type { EngineHooks } from './engine-hooks.js';
import { isActive, outcomeOf, restoreFrom, runtimeFromRow } from './saga-fold.js';
import { OutcomeWaiters, type Listener } from './outcome-waiters.js';
import { SagaParking } from './saga-parking.js';
import { buildWriteUnit, type SagaInsert } from './write-unit.js';
import { stepInvocation } from './step-call.js';
import { CallDispatcher } from './call-dispatcher.js';
import { markInDoubt, ResendPump } from './saga-recovery.js';
import { ChurnTable } from '../util/churn-table.js';

export type { CrashPoint, EngineHooks } from './engine-hooks.js';

export interface SagaEngineOptions {
  readonly store: Store;
  readonly invoker: ParticipantInvoker;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Returns [0, 1); drives backoff jitter. */
  readonly random?: () => number;
  /** More active sagas than this and StartSaga answers RESOURCE_EXHAUSTED. Default 500,000. */
  readonly maxActiveSagas?: number;
  /** How long close() waits for calls in flight. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /**
   * A saga with no call in flight whose next wake-up (retry backoff, deadline)
   * is at least this far away is dropped from memory and reloaded from the log
   * when its timer fires or a command needs it. 0 keeps every active saga in
   * memory. Default 1,000 ms.
   */
  readonly evictParkedAfterMs?: number;
  readonly hooks?: EngineHooks;
  /** Decides whether a new saga may be created now; throws RESOURCE_EXHAUSTED to shed load. */
  readonly admission?: { check(): void };
  /**
   * On a store several coordinators share: how often a wait for an outcome
   * (StartSaga wait_ms, WatchSaga) reads the saga's state, which another
   * instance may be changing. Default 250 ms.
   */
  readonly remotePollMs?: number;
}

export class SagaEngine {
  private readonly store: Store;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly maxActive: number;
  private readonly drainTimeoutMs: number;
  private readonly evictAfterMs: number;
  private readonly hooks: EngineHooks;
  private readonly admission: { check(): void } | undefined;
  private readonly timers: TimerQueue;
  private readonly sagas: SagaParking;
  /** Sagas in RUNNING or COMPENSATING held in memory, by id (owned by `sagas`). */
  private readonly active: ChurnTable<string, SagaRuntime>;
  /** StartSaga calls creating a saga with a client id, to serialise duplicates. */
  private readonly creating = new ChurnTable<string, Promise<unknown>>();
  /** Operator commands per saga id, serialised. */
  private readonly commandLocks = new KeyedMutex();
  private readonly waiters: OutcomeWaiters;
  /** Present on a shared store: this instance owns the sagas it holds, under their fencing epochs. */
  private readonly ownership: SagaOwnership | undefined;
  /** Sagas dropped from memory because another instance took them over: their late results and commits are not acted on. */
  private readonly dropped = new WeakSet<SagaRuntime>();
  /** When each COMPENSATING saga's current compensation began (compensate or retry event). */
  private readonly compensationStarts = new Map<string, number>();
  private readonly calls: CallDispatcher;
  /** Store writes not yet settled, so that close() lets them finish before the store closes. */
  private readonly writes = new ChurnTable<number, Promise<void>>();
  private writeNumber = 0;
  private closing: Promise<void> | undefined;
  /** In-doubt calls found at recovery, waiting for their turn to be re-sent. */
  private readonly resends: ResendPump;
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  private fatalError: Error | undefined;
  private readonly fatalListeners: ((err: Error) => void)[] = [];

  constructor(options: SagaEngineOptions) {
    this.store = options.store;
    this.log = options.logger;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.random = options.random ?? Math.random;
    this.maxActive = options.maxActiveSagas ?? 500_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.evictAfterMs = options.evictParkedAfterMs ?? 1_000;
    this.hooks = options.hooks ?? {};
    this.admission = options.admission;
    if (!Number.isInteger(this.maxActive) || this.maxActive < 1) throw new Error('SagaEngine: maxActiveSagas must be a positive integer');
    if (!Number.isFinite(this.drainTimeoutMs) || this.drainTimeoutMs < 0) throw new Error('SagaEngine: drainTimeoutMs must be >= 0');
    if (!Number.isFinite(this.evictAfterMs) || this.evictAfterMs < 0) throw new Error('SagaEngine: evictParkedAfterMs must be >= 0');
    this.ownership = this.store.ownership;
    const ownership = this.ownership;
    this.waiters = new OutcomeWaiters(ownership === undefined ? undefined : (options.remotePollMs ?? 250));
    this.timers = new TimerQueue(this.clock, (id) => this.wake(id));
    this.sagas = new SagaParking(
      this.store,
      this.log,
      (id) => this.timers.cancel(id),
      ownership === undefined ? undefined : (row) => row.owner === ownership.instanceId(),
    );
    this.active = this.sagas.active;
    this.calls = new CallDispatcher(
      options.invoker,
      (saga, d, result) => this.onResult(saga, d, result),
      (err) => this.fatal(err),
    );
    this.resends = new ResendPump(
      (saga, d) => this.send(saga, d),
      () => this.state === 'running',
    );
  }

  /** Recovers every active saga from the log and resumes it. */
  async start(): Promise<{ recovered: number; inDoubt: number }> {
    if (this.state !== 'new') throw new Error('SagaEngine already started');
    this.state = 'running';
    const now = this.clock.now();
    let recovered = 0;
    let inDoubt = 0;
    // Each saga is resumed as soon as its page of the log is read: the first
    // in-doubt calls go out while the rest is still loading.
    await this.store.loadActiveSagas((row, events) => {
      recovered += 1;
      inDoubt += this.resumeLoaded(row, events, now);
    });
    if (recovered > 0) this.log.info({ recovered, inDoubt }, 'resumed active sagas');
    return { recovered, inDoubt };
  }

  /**
   * Resumes a saga this instance just claimed from another one (whose lease
   * expired) through the recovery path: in-doubt calls are re-sent with the
   * same idempotency key. Returns how many. A finished saga is not held.
   */
  adopt(claimed: ClaimedSaga): number {
    if (this.state !== 'running' || !isActive(claimed.row.state)) return 0;
    const held = this.active.get(claimed.row.id);
    if (held !== undefined) this.drop(held, 'claimed again under a newer epoch');
    return this.resumeLoaded(claimed.row, claimed.events, this.clock.now());
  }

  /**
   * This instance's lease was lost: every saga it holds may be taken over by
   * another instance, so all of them leave memory, and nothing more is sent
   * or written for them (their writes would be refused anyway once claimed).
   */
  dropAll(reason: string): number {
    let n = 0;
    for (const saga of this.active.values()) {
      this.drop(saga, reason, false);
      n += 1;
    }
    for (const id of this.sagas.forgetParked()) {
      this.timers.cancel(id);
      this.compensationStarts.delete(id);
      n += 1;
    }
    if (n > 0) this.log.warn({ sagas: n, reason }, 'dropped every saga held by this instance');
    return n;
  }

  private resumeLoaded(row: SagaRow, events: readonly JournalEvent[], now: number): number {
    const saga = runtimeFromRow(row, events, false);
    this.sagas.adopt(saga);
    if (saga.state === 'COMPENSATING') {
      const began = [...events].reverse().find(beginsCompensation);
      if (began !== undefined) this.compensationStarts.set(saga.id, began.at);
    }
    return this.resume(saga, now);
  }

  /** A write of the saga was refused by its fencing epoch: another instance holds it now. */
  private fenced(saga: SagaRuntime, err: SagaFencedError): void {
    this.log.warn(
      { sagaId: saga.id, epoch: err.expectedEpoch, currentEpoch: err.currentEpoch },
      'write refused: the saga was taken over by another instance; dropped here',
    );
    this.drop(saga, err.message, false);
  }

  /** A saga another instance took over leaves memory here; calls still out are ignored when they answer. */
  private drop(saga: SagaRuntime, reason: string, log = true): void {
    if (this.dropped.has(saga)) return;
    this.dropped.add(saga);
    if (this.active.get(saga.id) === saga || this.sagas.isParked(saga.id)) {
      this.sagas.forget(saga);
      this.timers.cancel(saga.id);
      this.compensationStarts.delete(saga.id);
    }
    if (log) this.log.warn({ sagaId: saga.id, epoch: saga.epoch, reason }, 'saga taken over by another instance; dropped here');
  }

  /** Resumes a saga loaded from the log; returns how many in-doubt calls it re-sends. */
  private resume(saga: SagaRuntime, now: number): number {
    const { events, resends } = markInDoubt(saga, now);
    // Their intent is already durable: they go out without waiting for the
    // `resent` count (bookkeeping) to commit. New dispatches wait for it.
    this.resends.push(saga, resends);
    const decision = decide(saga, now);
    events.push(...decision.events);
    this.persistThen(saga, events, decision.wakeAt);
    return resends.length;
  }

  /**
   * Shuts down in the order that neither starts work it would abandon nor
   * costs a retry: no command, start, timer or new dispatch from now on; calls
   * in flight get up to `drainTimeoutMs` and their results are recorded; a call
   * still out then is abandoned unrecorded (in doubt in the log, re-sent at the
   * next start with the same attempt and key, as after a crash); the writes
   * under way finish; after that nothing is written.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    this.state = 'closing';
    this.timers.stop();
    const abandoned = await this.calls.drain(this.drainTimeoutMs);
    if (abandoned > 0) this.log.warn({ calls: abandoned }, 'drain timed out; abandoning calls in flight (re-sent at the next start)');
    while (this.writes.size > 0) await Promise.allSettled(this.writes.values());
    this.state = 'closed';
  }

  /** Registers a callback for a failure of the durable log (the process should exit). */
  onFatal(listener: (err: Error) => void): void {
    this.fatalListeners.push(listener);
    if (this.fatalError !== undefined) listener(this.fatalError);
  }

  /** Sagas RUNNING or COMPENSATING, in memory or parked. */
  activeCount(): number {
    return this.sagas.activeCount();
  }

  /** Active sagas evicted from memory while they wait for their timer. */
  parkedCount(): number {
    return this.sagas.parkedCount();
  }

  /** Active sagas held in memory: running a step, or about to. */
  inMotionCount(): number {
    return this.active.size;
  }

  /** How many times a saga left memory (finished or parked) since start: a monotonic count. */
  settledCount(): number {
    return this.sagas.settledCount();
  }

  /** The sagas compensating now, with when their current compensation began (read-only, for alerts). */
  compensatingSince(): { sagaId: string; sagaName: string; since: number }[] {
    const out: { sagaId: string; sagaName: string; since: number }[] = [];
    for (const [sagaId, since] of this.compensationStarts) {
      const sagaName = this.sagas.nameOf(sagaId);
      if (sagaName !== undefined) out.push({ sagaId, sagaName, since });
    }
    return out;
  }

  /** When the saga's current (or just finished) compensation began; read it in onCommitted. */
  compensationStartedAt(sagaId: string): number | undefined {
    return this.compensationStarts.get(sagaId);
  }

  async startSaga(req: ValidatedStart): Promise<StartSagaResult> {
    this.assertRunning();
    if (req.sagaId !== '') {
      const existing = await this.findExisting(req);
      if (existing !== undefined) return this.answer(existing, false, req.waitMs);
    }
    // Only new sagas are shed: a repeated StartSaga of an existing id was answered above.
    this.admission?.check();
    if (this.activeCount() >= this.maxActive) {
      throw resourceExhausted(`the coordinator is running ${this.activeCount()} sagas, its limit; retry later`);
    }
    const id = req.sagaId !== '' ? req.sagaId : newSagaId(this.clock.now());
    const create = this.create(id, req);
    if (req.sagaId !== '') {
      this.creating.set(id, create);
      void create.finally(() => this.creating.delete(id)).catch(() => undefined);
    }
    let saga: SagaRuntime;
    try {
      saga = await create;
    } catch (err) {
      // Another StartSaga of this id won the insert: answer as a repeat of it.
      const existing = err instanceof WriteConflictError && req.sagaId !== '' ? await this.findExisting(req) : undefined;
      if (existing === undefined) throw err;
      return this.answer(existing, false, req.waitMs);
    }
    return this.answer(saga, true, req.waitMs);
  }

  async getSaga(id: string): Promise<SagaView> {
    const row = await this.store.getSagaRow(id);
    if (row === undefined) throw notFound(`saga "${id}" not found`);
    const events = await this.store.getJournal(row.key);
    const view = runtimeFromRow(row, events, true).toView();
    // Backoff times are runtime facts of active sagas; show them when known.
    const live = this.active.get(id);
    if (live !== undefined) view.steps.forEach((s, i) => (s.nextAttemptAt = live.steps[i]?.nextAt ?? s.nextAttemptAt));
    return view;
  }

  listSagas(filter: ListSagasFilter): ReturnType<Store['listSagas']> {
    return this.store.listSagas(filter);
  }

  /** Calls `listener` after every durable change of the saga. Returns the unsubscribe function. */
  subscribe(id: string, listener: Listener): () => void {
    return this.waiters.subscribe(id, listener);
  }

  /**
   * Calls `onChange` after every durable change of the saga made here and, on
   * a shared store, now and then (changes made by another instance): the
   * caller reads the saga and skips versions it has seen. Returns the unsubscribe function.
   */
  watch(id: string, onChange: () => void): () => void {
    return this.waiters.watch(id, onChange);
  }

  /** Waits until the saga reaches an outcome or `timeoutMs` passes. */
  async waitForOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<SagaState> {
    const outcome = await this.awaitOutcome(id, timeoutMs, signal);
    return typeof outcome === 'string' ? outcome : outcome.state;
  }

  /**
   * waitForOutcome, answering with the saga itself when its outcome was seen
   * committed here (no read of the store), else with the state it read.
   */
  private awaitOutcome(id: string, timeoutMs: number, signal?: AbortSignal): Promise<SagaState | SagaRuntime> {
    const current = async (): Promise<SagaState> => {
      const live = this.active.get(id);
      // An outcome decided in memory counts once it is durable (its listeners then fire); till then the log says.
      if (live !== undefined && (live.isActive() || live.writing === 0)) return live.state;
      const row = await this.store.getSagaRow(id);
      if (row === undefined) throw notFound(`saga "${id}" not found`);
      return row.state;
    };
    return this.waiters.awaitOutcome(id, timeoutMs, current, signal);
  }

  abort(id: string, reason: string): Promise<SagaState> {
    return this.command(id, async () => {
      await this.takeOver(id);
      const saga = await this.sagas.live(id);
      if (saga === undefined) {
        const row = await this.store.getSagaRow(id);
        if (row === undefined) throw notFound(`saga "${id}" not found`);
        throw failedPrecondition(`saga "${id}" is ${row.state}; only a RUNNING saga can be aborted`);
      }
      if (saga.state === 'COMPENSATING') return saga.state;
      const now = this.clock.now();
      const e = abortEvent(saga, now, reason);
      if ('refused' in e) throw failedPrecondition(`saga "${id}": ${e.refused}`);
      applyEvent(saga, e);
      const decision = decide(saga, now);
      // The state this command made durable (calls it triggers may move it on).
      const state = saga.state;
      await this.persistCommand(saga, [e, ...decision.events], decision.wakeAt);
      return state;
    });
  }

  retry(id: string): Promise<SagaState> {
    return this.command(id, async () => {
      await this.takeOver(id);
      const saga = await this.loadManual(id, 'retried');
      const now = this.clock.now();
      const e: JournalEvent = { t: 'retry', at: now };
      applyEvent(saga, e);
      this.active.set(id, saga);
      const decision = decide(saga, now);
      // The state this command made durable (calls it triggers may move it on).
      const state = saga.state;
      await this.persistCommand(saga, [e, ...decision.events], decision.wakeAt);
      return state;
    });
  }

  resolve(id: string, note: string): Promise<SagaState> {
    if (note.trim() === '') return Promise.reject(invalidArgument('note', 'is required: say what was done'));
    return this.command(id, async () => {
      await this.takeOver(id);
      const saga = await this.loadManual(id, 'resolved');
      const e: JournalEvent = { t: 'resolve', at: this.clock.now(), note };
      applyEvent(saga, e);
      await this.persistCommand(saga, [e], undefined);
      return saga.state;
    });
  }

  // ---- internals -------------------------------------------------------

  private assertRunning(): void {
    if (this.state !== 'running') throw unavailable('the coordinator is shutting down; retry against another instance or later');
    // The same refusal as the latched store's: one answer, whichever of the two a call meets first.
    if (this.fatalError !== undefined) throw new StoreFailedError(this.fatalError);
  }

  private async findExisting(req: ValidatedStart): Promise<SagaRuntime | SagaRow | undefined> {
    const pending = this.creating.get(req.sagaId);
    if (pending !== undefined) await pending.catch(() => undefined);
    const live = this.active.get(req.sagaId);
    const existing: SagaRuntime | SagaRow | undefined = live ?? (await this.store.getSagaRow(req.sagaId));
    if (existing === undefined) {
      // Another call may have started creating it while we read.
      const again = this.creating.get(req.sagaId);
      if (again !== undefined) return this.findExisting(req);
      return undefined;
    }
    if (existing.definitionHash !== req.definitionHash) {
      throw new DomainError('ALREADY_EXISTS', `saga "${req.sagaId}" already exists with a different definition`);
    }
    return existing;
  }

  private async create(id: string, req: ValidatedStart): Promise<SagaRuntime> {
    // Shutdown may have begun while an earlier read of this StartSaga waited.
    this.assertRunning();
    const now = this.clock.now();
    const saga = new SagaRuntime(
      {
        key: await this.store.nextSagaKey(),
        id,
        // Held while the saga is active: its shared parts interned.
        definition: compactDefinition(req.definition),
        createdAt: now,
        deadlineAt: req.definition.deadlineMs > 0 ? now + req.definition.deadlineMs : undefined,
        definitionHash: req.definitionHash,
      },
      false,
    );
    if (this.ownership !== undefined) saga.epoch = FIRST_EPOCH;
    this.active.set(id, saga);
    const decision = decide(saga, now);
    const insert: SagaInsert = {
      key: saga.key,
      id,
      state: 'RUNNING',
      createdAt: now,
      deadlineAt: saga.deadlineAt,
      definition: saga.definition,
      definitionHash: req.definitionHash,
    };
    try {
      await this.persist(saga, decision.events, decision.wakeAt, insert);
    } catch (err) {
      if (this.active.get(id) === saga) this.active.delete(id);
      throw err;
    }
    return saga;
  }

  private async answer(saga: SagaRuntime | SagaRow, created: boolean, waitMs: number): Promise<StartSagaResult> {
    const id = saga.id;
    let state = saga.state;
    let finished: SagaRuntime | undefined;
    if (waitMs > 0 && isActive(state)) {
      const outcome = await this.awaitOutcome(id, waitMs);
      if (typeof outcome === 'string') state = outcome;
      else {
        finished = outcome;
        state = outcome.state;
      }
    }
    let failedStep = '';
    let failureReason = '';
    const live = this.active.get(id) ?? finished;
    if (live !== undefined) {
      failedStep = live.failedStep;
      failureReason = live.reason;
    } else if (!isActive(state)) {
      const row = await this.store.getSagaRow(id);
      if (row !== undefined) {
        state = row.state;
        failedStep = row.failedStep;
        failureReason = row.reason;
      }
    }
    return { sagaId: id, created, state, outcome: outcomeOf(state), failedStep, failureReason };
  }

  private async loadManual(id: string, verb: string): Promise<SagaRuntime> {
    if (this.active.has(id)) {
      const s = this.active.get(id) as SagaRuntime;
      throw failedPrecondition(`saga "${id}" is ${s.state}; only a MANUAL saga can be ${verb}`);
    }
    const row = await this.store.getSagaRow(id);
    if (row === undefined) throw notFound(`saga "${id}" not found`);
    if (row.state !== 'MANUAL') throw failedPrecondition(`saga "${id}" is ${row.state}; only a MANUAL saga can be ${verb}`);
    return runtimeFromRow(row, await this.store.getJournal(row.key), false);
  }

  /**
   * On a shared store, an operator command for a saga this instance does not
   * hold takes the saga over first (its epoch bumped, so the previous owner's
   * writes are refused and it drops the saga) and resumes it here, so that
   * the command is applied once, by the one instance now writing the saga.
   */
  private async takeOver(id: string): Promise<void> {
    if (this.ownership === undefined || this.active.has(id)) return;
    // Parked here and still ours: it is reloaded (a parked saga taken over meanwhile is dropped by the reload).
    if (this.sagas.isParked(id) && (await this.sagas.live(id)) !== undefined) return;
    const taken = await this.ownership.takeSaga(id);
    if (taken === undefined) return;
    const inDoubt = this.adopt(taken);
    this.log.info({ sagaId: id, epoch: taken.row.epoch, from: taken.row.owner, inDoubt }, 'took the saga over for an operator command');
  }

  /** Serialises operator commands per saga. */
  private async command<T>(id: string, run: () => Promise<T>): Promise<T> {
    this.assertRunning();
    return this.commandLocks.run(id, run);
  }

  /** A timer fired: retry due, or deadline reached. */
  private wake(id: string): void {
    if (this.state !== 'running') return;
    const saga = this.active.get(id);
    if (saga !== undefined) {
      this.advance(saga);
      return;
    }
    if (!this.sagas.isParked(id)) return;
    this.sagas.live(id).then(
      (loaded) => {
        if (loaded !== undefined && this.state === 'running') this.advance(loaded);
      },
      (err: unknown) => {
        // The log could not be read: stay parked and try again shortly.
        this.log.error({ err, sagaId: id }, 'reloading a parked saga failed; retrying in 1 s');
        if (this.sagas.isParked(id)) this.timers.set(id, this.clock.now() + 1_000);
      },
    );
  }

  private advance(saga: SagaRuntime): void {
    const decision = decide(saga, this.clock.now());
    if (decision.events.length === 0) {
      this.arm(saga, decision.wakeAt);
      return;
    }
    this.persistThen(saga, decision.events, decision.wakeAt);
  }

  private onResult(saga: SagaRuntime, d: DispatchEvent, result: InvokeResult): void {
    // Taken over meanwhile: the new owner re-sends the call with the same key and records its result.
    if (this.dropped.has(saga)) return;
    const step = saga.definition.steps[d.s];
    this.hooks.crashPoint?.('before-result-commit', saga.id, step?.name ?? '', d.op);
    const now = this.clock.now();
    const e = resultEvent(saga, d.s, d.op, d.n, result, now, this.random);
    applyEvent(saga, e);
    if (result.kind !== 'succeeded') {
      this.log.debug({ sagaId: saga.id, step: step?.name, op: d.op, attempt: d.n, result: result.kind, code: result.code }, 'attempt did not succeed');
    }
    // While draining, the result is recorded but nothing new is dispatched.
    const decision = decide(saga, now, { dispatch: this.state === 'running' });
    const events = [e, ...decision.events];
    this.persistThen(saga, events, decision.wakeAt);
  }

  /** persist() for callers that do not wait: a failed write is fatal. */
  private persistThen(saga: SagaRuntime, events: JournalEvent[], wakeAt: number | undefined): void {
    this.persist(saga, events, wakeAt).catch((err: unknown) => {
      // Another instance took the saga over: not a failure of the log.
      if (err instanceof SagaFencedError) this.fenced(saga, err);
      // Refused after close: what it would have recorded stays in doubt in the log.
      else if (this.state === 'closed') this.log.warn({ sagaId: saga.id }, 'a change after shutdown was not written; it is decided again at the next start');
      else this.fatal(err);
    });
  }

  /**
   * Makes `events` (already applied to `saga`) durable, then acts on them:
   * sends the dispatched calls, arms the timer, notifies listeners.
   */
  private async persist(saga: SagaRuntime, events: JournalEvent[], wakeAt: number | undefined, insert?: SagaInsert): Promise<void> {
    if (events.length === 0 && insert === undefined) {
      this.arm(saga, wakeAt);
      return;
    }
    if (this.state === 'closed') throw unavailable('the coordinator is shutting down; retry against another instance or later');
    const unit = buildWriteUnit(saga, events, this.hooks, insert);
    saga.writing += 1;
    const write = this.store.commit(unit);
    const tracked = write.then(
      () => undefined,
      () => undefined,
    );
    const n = this.writeNumber++;
    this.writes.set(n, tracked);
    try {
      await write;
    } finally {
      saga.writing -= 1;
      this.writes.delete(n);
    }
    this.afterCommit(saga, events, wakeAt);
  }

  /**
   * persist() for operator commands: when the write fails, the saga in memory
   * is folded again from the log before the error is answered, so that it holds
   * nothing the log does not (a later command or result starts from the log).
   */
  private async persistCommand(saga: SagaRuntime, events: JournalEvent[], wakeAt: number | undefined): Promise<void> {
    try {
      await this.persist(saga, events, wakeAt);
    } catch (err) {
      // Refused after close: nothing was written, and the process is stopping.
      if (this.state === 'closed') throw err;
      // Taken over by another instance: it holds the saga now (the caller may send the command again).
      if (err instanceof SagaFencedError) {
        this.fenced(saga, err);
        throw err;
      }
      await this.refold(saga).catch((readErr: unknown) => {
        // Memory and log may now disagree and cannot be brought back: restart from the log.
        this.fatal(readErr);
      });
      throw err;
    }
  }

  private async refold(saga: SagaRuntime): Promise<void> {
    const row = await this.store.getSagaRow(saga.id);
    const events = row === undefined ? [] : await this.store.getJournal(row.key);
    if (row !== undefined && isActive(row.state)) {
      restoreFrom(saga, runtimeFromRow(row, events, false));
      return;
    }
    // Not active in the log (a RetrySaga of a MANUAL saga whose write failed): not in memory either.
    if (this.active.get(saga.id) === saga) this.active.delete(saga.id);
    this.timers.cancel(saga.id);
    this.compensationStarts.delete(saga.id);
  }

  private afterCommit(saga: SagaRuntime, events: readonly JournalEvent[], wakeAt: number | undefined): void {
    // Dropped while the write was queued (lease lost): durable, but another instance carries on from the log.
    if (this.dropped.has(saga)) return;
    for (const e of events) if (beginsCompensation(e)) this.compensationStarts.set(saga.id, e.at);
    this.hooks.onCommitted?.(saga, events);
    // After the hook, so that it can still read the start of a compensation that just ended.
    if (saga.state !== 'COMPENSATING') this.compensationStarts.delete(saga.id);
    for (const e of events) {
      if (e.t === 'compensate') this.log.info({ sagaId: saga.id, saga: saga.definition.name, cause: e.cause, step: e.step }, 'compensating');
      if (e.t === 'phase') this.log.info({ sagaId: saga.id, saga: saga.definition.name, phase: e.phase, ...(e.phase === 'CANCEL' ? { cause: e.cause, step: e.step } : {}) }, 'tcc phase');
      if (e.t === 'finish') {
        // COMPLETED is the common case: debug, so that info costs nothing per saga.
        const level = e.state === 'MANUAL' ? 'warn' : e.state === 'COMPLETED' ? 'debug' : 'info';
        this.log[level]({ sagaId: saga.id, saga: saga.definition.name, state: e.state, reason: e.reason || undefined }, 'saga finished');
      }
    }
    if (!saga.isActive()) {
      this.sagas.finished(saga);
      this.timers.cancel(saga.id);
    } else {
      // A dispatch committed once shutdown began is not sent: it is in doubt in the log, re-sent at the next start.
      if (this.state === 'running') for (const e of events) if (e.t === 'dispatch') this.send(saga, e);
      this.arm(saga, wakeAt);
    }
    this.waiters.notify(saga);
  }

  private arm(saga: SagaRuntime, wakeAt: number | undefined): void {
    if (wakeAt === undefined || this.state !== 'running') {
      this.timers.cancel(saga.id);
      return;
    }
    this.timers.set(saga.id, wakeAt);
    if (this.evictAfterMs > 0 && wakeAt - this.clock.now() >= this.evictAfterMs) {
      this.sagas.parkIfIdle(saga, this.commandLocks.busy(saga.id));
    }
  }

  private send(saga: SagaRuntime, d: DispatchEvent): void {
    if (this.dropped.has(saga)) return;
    const now = this.clock.now();
    const call = stepInvocation(saga, d, now);
    if (call === undefined) return;
    this.hooks.crashPoint?.('after-dispatch-commit', saga.id, call.stepName, d.op);
    this.calls.send(saga, d, call);
  }

  private fatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.fatalError !== undefined) return;
    this.fatalError = error;
    this.log.fatal({ err: error }, 'durable log write failed; stopping so that recovery restarts from the log');
    for (const l of this.fatalListeners) l(error);
  }
}
