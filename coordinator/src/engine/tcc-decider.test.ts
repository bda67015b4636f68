// The TCC decider, pure: table-driven cases for each rule, and fast-check
// properties over random participant answers, graphs and crashes (the log cut
// at any event and folded again, in-doubt calls re-sent with their attempt).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RetryPolicy, SagaDefinition } from '../domain/saga-types.js';
import type { InvokeResult } from './participant-invoker.js';
import { decideTcc, tccAbortEvent, tccResultEvent } from './tcc-decider.js';
import { applyTccEvent, TccRuntime, type TccJournalEvent, type TccOp } from './tcc-runtime.js';

const policy = (maxAttempts: number): RetryPolicy => ({ maxAttempts, attemptTimeoutMs: 1_000, initialBackoffMs: 10, maxBackoffMs: 40, backoffMultiplier: 2 });

interface Shape {
  branches: number;
  /** dependsOn by branch index; any non-empty list makes it a graph. */
  deps?: number[][];
  tryAttempts?: number;
  phaseAttempts?: number;
  deadlineAt?: number;
  /** A graph even without dependencies (every branch tried at once). */
  parallel?: boolean;
}

const NAMES = 'abcdefgh'.split('');

function definition(shape: Shape): SagaDefinition {
  const graph = shape.parallel === true || (shape.deps ?? []).some((d) => d.length > 0);
  return {
    name: 'tcc-test',
    deadlineMs: 0,
    metadata: {},
    graph,
    steps: Array.from({ length: shape.branches }, (_, i) => ({
      name: NAMES[i]!,
      participant: 'p',
      action: 'reserve',
      compensateAction: 'reserve',
      payload: Buffer.alloc(0),
      dependsOn: (shape.deps?.[i] ?? []).map((d) => NAMES[d]!),
      noCompensation: false,
      retry: policy(shape.tryAttempts ?? 3),
      compensationRetry: policy(shape.phaseAttempts ?? 3),
      metadata: {},
    })),
  };
}

function identity(shape: Shape) {
  return { key: 1, id: 'tx-1', definition: definition(shape), createdAt: 0, deadlineAt: shape.deadlineAt, definitionHash: 'h' };
}

type Answer = (op: TccOp, branch: string, n: number) => InvokeResult;

const S: InvokeResult = { kind: 'succeeded', output: Buffer.alloc(0) };
const F: InvokeResult = { kind: 'failed', code: 'NO_STOCK', message: 'too little' };
const E: InvokeResult = { kind: 'error', code: 'UNAVAILABLE', message: 'down' };

interface Run {
  tx: TccRuntime;
  log: TccJournalEvent[];
  /** "op:branch#n" of every dispatch, in order. */
  trace: string[];
  now: number;
}

/**
 * Drives the decider: every dispatch is answered at once by `answer`; when
 * nothing is due, time jumps to the wake-up. Stops when the transaction
 * settles or waits for nothing. `stopAfter` cuts the run after that many
 * events (a crash: the rest of the log is lost, calls may be in doubt).
 */
function drive(run: Run, answer: Answer, stopAfter = Infinity): Run {
  const push = (e: TccJournalEvent): void => {
    run.log.push(e);
    if (e.t === 'dispatch') run.trace.push(`${e.op}:${NAMES[e.s]}#${e.n}`);
  };
  for (let guard = 0; guard < 1_000 && run.log.length < stopAfter; guard++) {
    const { events, wakeAt } = decideTcc(run.tx, run.now);
    events.forEach(push);
    const dispatched = events.filter((e) => e.t === 'dispatch');
    for (const d of dispatched) {
      if (run.log.length >= stopAfter) return run;
      const result = tccResultEvent(run.tx, d.s, d.op, d.n, answer(d.op, NAMES[d.s]!, d.n), run.now, () => 0.5);
      applyTccEvent(run.tx, result);
      push(result);
    }
    if (dispatched.length === 0) {
      if (wakeAt === undefined || !run.tx.isActive()) return run;
      run.now = Math.max(run.now, wakeAt);
    }
  }
  return run;
}

function start(shape: Shape, answer: Answer): Run {
  return drive({ tx: new TccRuntime(identity(shape)), log: [], trace: [], now: 0 }, answer);
}

/** Answers by "op:branch" (or "op:branch#n"), default SUCCEEDED. */
function script(table: Record<string, InvokeResult>): Answer {
  return (op, branch, n) => table[`${op}:${branch}#${n}`] ?? table[`${op}:${branch}`] ?? S;
}

describe('TCC decider: table', () => {
  it('tries every branch in order, then confirms every branch', () => {
    const r = start({ branches: 3 }, script({}));
    expect(r.trace).toEqual(['try:a#1', 'try:b#1', 'try:c#1', 'confirm:a#1', 'confirm:b#1', 'confirm:c#1']);
    expect(r.tx.state).toBe('COMPLETED');
    expect(r.tx.phase).toBe('CONFIRM');
  });

  it('cancels every branch whose try was sent, including the failed one, and skips the rest', () => {
    const r = start({ branches: 3 }, script({ 'try:b': F }));
    expect(r.trace).toEqual(['try:a#1', 'try:b#1', 'cancel:a#1', 'cancel:b#1']);
    expect(r.tx.state).toBe('COMPENSATED');
    expect(r.tx.failedStep).toBe('b');
    expect(r.tx.reason).toBe('try of branch b failed: NO_STOCK: too little');
    expect(r.tx.branches.map((b) => b.cancel.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SKIPPED']);
  });

  it('retries a try by its policy, and cancels when the attempts run out', () => {
    const r = start({ branches: 2, tryAttempts: 3 }, script({ 'try:b': E }));
    expect(r.trace).toEqual(['try:a#1', 'try:b#1', 'try:b#2', 'try:b#3', 'cancel:a#1', 'cancel:b#1']);
    expect(r.tx.state).toBe('COMPENSATED');
  });

  it('retries confirm with backoff until it succeeds', () => {
    const r = start({ branches: 2 }, script({ 'confirm:b#1': E, 'confirm:b#2': E }));
    expect(r.trace).toEqual(['try:a#1', 'try:b#1', 'confirm:a#1', 'confirm:b#1', 'confirm:b#2', 'confirm:b#3']);
    expect(r.tx.state).toBe('COMPLETED');
    expect(r.now).toBeGreaterThan(0);
  });

  it('goes to MANUAL when confirm exhausts its policy; RetrySaga re-drives only confirm with a fresh budget', () => {
    let down = true;
    const answer: Answer = (op, branch) => (op === 'confirm' && branch === 'b' && down ? E : S);
    const r = start({ branches: 2, phaseAttempts: 2 }, answer);
    expect(r.tx.state).toBe('MANUAL');
    expect(r.tx.reason).toBe('confirm of branch b gave up: UNAVAILABLE: down');
    down = false;
    const retry: TccJournalEvent = { t: 'retry', at: r.now };
    applyTccEvent(r.tx, retry);
    r.log.push(retry);
    drive(r, answer);
    expect(r.trace.slice(-3)).toEqual(['confirm:b#1', 'confirm:b#2', 'confirm:b#3']);
    expect(r.tx.state).toBe('COMPLETED');
    expect(r.trace.filter((t) => t.startsWith('cancel'))).toEqual([]);
  });

  it('goes to MANUAL on a FAILED cancel and stays there until resolved', () => {
    const r = start({ branches: 2 }, script({ 'try:b': F, 'cancel:a': F }));
    expect(r.tx.state).toBe('MANUAL');
    expect(r.tx.reason).toBe('cancel of branch a gave up: NO_STOCK: too little');
    expect(decideTcc(r.tx, r.now + 1_000_000).events).toEqual([]);
    applyTccEvent(r.tx, { t: 'resolve', at: r.now, note: 'released by hand' });
    expect(r.tx.state).toBe('RESOLVED');
  });

  it('cancels when the deadline passes during the try phase, without retrying past it', () => {
    const r = start({ branches: 2, tryAttempts: 100, deadlineAt: 50 }, script({ 'try:b': E }));
    expect(r.tx.state).toBe('COMPENSATED');
    expect(r.tx.reason).toBe('transaction deadline exceeded in the try phase');
    const lastTry = r.log.filter((e) => e.t === 'dispatch' && e.op === 'try').at(-1)!;
    expect(lastTry.at).toBeLessThanOrEqual(50);
    expect(r.trace.slice(-2)).toEqual(['cancel:a#1', 'cancel:b#1']);
  });

  it('does not bound confirm by the deadline', () => {
    const r = start({ branches: 1, deadlineAt: 1 }, script({ 'confirm:a#1': E }));
    expect(r.tx.state).toBe('COMPLETED');
    expect(r.trace).toEqual(['try:a#1', 'confirm:a#1', 'confirm:a#2']);
  });

  it('tries independent branches of a graph together, and a dependent one after its dependencies', () => {
    const r = start({ branches: 3, deps: [[], [], [0, 1]] }, script({}));
    expect(r.trace.slice(0, 3)).toEqual(['try:a#1', 'try:b#1', 'try:c#1']);
    const first = decideTcc(new TccRuntime(identity({ branches: 3, deps: [[], [], [0, 1]] })), 0).events;
    expect(first.map((e) => (e.t === 'dispatch' ? `${e.op}:${NAMES[e.s]}` : e.t))).toEqual(['try:a', 'try:b']);
  });

  it('waits for an outstanding try before cancelling its branch, then cancels it', () => {
    const tx = new TccRuntime(identity({ branches: 2, parallel: true }));
    const first = decideTcc(tx, 0).events;
    expect(first).toHaveLength(2);
    applyTccEvent(tx, tccResultEvent(tx, 0, 'try', 1, F, 1, () => 0.5));
    const second = decideTcc(tx, 1).events;
    expect(second.map((e) => (e.t === 'dispatch' ? `${e.op}:${NAMES[e.s]}` : e.t))).toEqual(['phase', 'cancel:a']);
    applyTccEvent(tx, tccResultEvent(tx, 0, 'cancel', 1, S, 2, () => 0.5));
    expect(decideTcc(tx, 2).events).toEqual([]);
    // The outstanding try answers (it succeeded): its branch is cancelled.
    applyTccEvent(tx, tccResultEvent(tx, 1, 'try', 1, S, 3, () => 0.5));
    expect(decideTcc(tx, 3).events).toMatchObject([{ t: 'dispatch', s: 1, op: 'cancel', n: 1 }]);
  });

  it('an abort cancels during the try phase and is refused once confirming', () => {
    const tx = new TccRuntime(identity({ branches: 2 }));
    decideTcc(tx, 0);
    const abort = tccAbortEvent(tx, 1, 'customer left');
    expect(abort).toMatchObject({ t: 'phase', phase: 'CANCEL', cause: 'abort', reason: 'aborted: customer left' });
    const confirming = start({ branches: 1 }, script({ 'confirm:a': E })).tx;
    applyTccEvent(confirming, { t: 'retry', at: 0 });
    expect(tccAbortEvent(confirming, 1, 'x')).toEqual({ refused: expect.stringContaining('confirming') as unknown });
  });
});

// ---------------------------------------------------------------------------

const outcome = fc.constantFrom<'S' | 'F' | 'E'>('S', 'S', 'S', 'E', 'F');

const shapeArb = fc
  .integer({ min: 1, max: 5 })
  .chain((branches) =>
    fc.record({
      branches: fc.constant(branches),
      deps: fc.oneof(
        fc.constant(undefined),
        fc.tuple(...Array.from({ length: branches }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))).map((d) => d),
      ),
      parallel: fc.boolean(),
      tryAttempts: fc.integer({ min: 1, max: 4 }),
      phaseAttempts: fc.integer({ min: 1, max: 4 }),
      deadlineAt: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
    }),
  );

function answersFrom(outcomes: readonly ('S' | 'F' | 'E')[]): Answer {
  let i = 0;
  return () => {
    const o = outcomes[i++] ?? 'S';
    return o === 'S' ? S : o === 'F' ? F : E;
  };
}

/** The rules every run must keep, checked on its log. */
function checkInvariants(shape: Shape, log: readonly TccJournalEvent[], tx: TccRuntime): void {
  const dispatches = log.filter((e) => e.t === 'dispatch');
  const confirms = dispatches.filter((d) => d.op === 'confirm');
  const cancels = dispatches.filter((d) => d.op === 'cancel');
  // Never both.
  expect(confirms.length === 0 || cancels.length === 0).toBe(true);
  // Confirm only after every branch's try succeeded.
  const firstConfirm = log.findIndex((e) => e.t === 'dispatch' && e.op === 'confirm');
  if (firstConfirm >= 0) {
    for (let s = 0; s < shape.branches; s++) {
      expect(log.slice(0, firstConfirm).some((e) => e.t === 'result' && e.op === 'try' && e.s === s && e.o === 'S')).toBe(true);
    }
  }
  // Cancel only for branches whose try was sent.
  for (const c of cancels) {
    expect(log.some((e) => e.t === 'dispatch' && e.op === 'try' && e.s === c.s)).toBe(true);
  }
  // Attempts within policy (no RetrySaga in these runs); attempt numbers never reused.
  const max = { try: shape.tryAttempts ?? 3, confirm: shape.phaseAttempts ?? 3, cancel: shape.phaseAttempts ?? 3 };
  for (const d of dispatches) expect(d.n).toBeLessThanOrEqual(max[d.op]);
  const keys = dispatches.map((d) => `${d.op}:${d.s}#${d.n}`);
  expect(new Set(keys).size).toBe(keys.length);
  // Outcomes.
  if (tx.state === 'COMPLETED') {
    expect(tx.branches.every((b) => b.confirm.status === 'SUCCEEDED')).toBe(true);
  }
  if (tx.state === 'COMPENSATED') {
    tx.branches.forEach((b) => expect(b.cancel.status).toBe(b.try.attempts > 0 ? 'SUCCEEDED' : 'SKIPPED'));
  }
  if (tx.state === 'MANUAL') {
    const op = tx.phaseOp();
    expect(tx.branches.some((b) => b[op].status === 'FAILED')).toBe(true);
  }
}

function refold(shape: Shape, log: readonly TccJournalEvent[]): TccRuntime {
  const tx = new TccRuntime(identity(shape));
  for (const e of log) applyTccEvent(tx, e);
  return tx;
}

describe('TCC decider: properties', () => {
  it('settles, keeps the rules, and a refold of its log gives the same state', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(outcome, { maxLength: 60 }), (shape, outcomes) => {
        const r = start(shape, answersFrom(outcomes));
        expect(['COMPLETED', 'COMPENSATED', 'MANUAL']).toContain(r.tx.state);
        checkInvariants(shape, r.log, r.tx);
        const again = refold(shape, r.log);
        expect(again).toEqual(r.tx);
      }),
      { numRuns: 300 },
    );
  });

  it('after a crash at any event, the refolded log, with in-doubt calls re-sent, still settles by the rules', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(outcome, { maxLength: 60 }), fc.nat(), (shape, outcomes, cutSeed) => {
        const answer = answersFrom(outcomes);
        const full = start(shape, answer);
        const cut = cutSeed % (full.log.length + 1);
        // The crash: only a prefix of the log is durable.
        const log = full.log.slice(0, cut);
        const tx = refold(shape, log);
        const now = log.at(-1)?.at ?? 0;
        // Recovery re-sends each in-doubt call with its attempt number and key.
        tx.branches.forEach((b, s) => {
          if (b.inFlight === undefined) return;
          const n = b[b.inFlight].attempts;
          const result = tccResultEvent(tx, s, b.inFlight, n, answer(b.inFlight, NAMES[s]!, n), now, () => 0.5);
          applyTccEvent(tx, result);
          log.push(result);
        });
        const r = drive({ tx, log, trace: [], now }, answer);
        expect(['COMPLETED', 'COMPENSATED', 'MANUAL']).toContain(r.tx.state);
        checkInvariants(shape, r.log, r.tx);
      }),
      { numRuns: 300 },
    );
  });
});
