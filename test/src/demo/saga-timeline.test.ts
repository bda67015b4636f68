// The demo's timeline: labelled time columns, and a COMPLETED saga shows no
// compensation at all (not "SKIPPED"), while a compensated one says why a step was skipped.

import type { AttemptRecord, SagaRecord, StepRecord } from '@saga/sdk';
import { describe, expect, it } from 'vitest';
import { renderTimeline } from './saga-timeline.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number): Date => new Date(t0.getTime() + ms);

function attempt(operation: AttemptRecord['operation'], start: number, outcome: AttemptRecord['outcome']): AttemptRecord {
  return { operation, number: 1, startedAt: at(start), finishedAt: at(start + 5), outcome, errorCode: '', errorMessage: '', resent: 0 };
}

function step(name: string, over: Partial<StepRecord>): StepRecord {
  return {
    name,
    participant: 'orders',
    action: 'a',
    compensateAction: '',
    payload: Buffer.alloc(0),
    dependsOn: [],
    noCompensation: false,
    retry: undefined,
    compensationRetry: undefined,
    metadata: {},
    executeStatus: 'SUCCEEDED',
    compensateStatus: 'SKIPPED',
    output: Buffer.alloc(0),
    attempts: [],
    nextAttemptAt: undefined,
    confirmStatus: 'UNSPECIFIED',
    ...over,
  };
}

function saga(over: Partial<SagaRecord>): SagaRecord {
  return {
    sagaId: 's1',
    name: 'order',
    kind: 'SAGA',
    phase: 'UNSPECIFIED',
    state: 'COMPLETED',
    forwardStatus: 'SUCCEEDED',
    compensationStatus: 'NOT_NEEDED',
    steps: [],
    options: { deadlineMs: 0, defaultRetry: undefined, defaultCompensationRetry: undefined },
    metadata: {},
    createdAt: t0,
    updatedAt: at(20),
    finishedAt: at(20),
    deadline: undefined,
    failedStep: '',
    failureReason: '',
    resolutionNote: '',
    version: 3,
    ...over,
  };
}

describe('renderTimeline', () => {
  it('labels the time columns as offsets since the saga was created', () => {
    const text = renderTimeline(saga({ steps: [step('create', { attempts: [attempt('EXECUTE', 3, 'SUCCEEDED')] })] }));
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/^ {2}started +operation +step +participant +try +outcome +finished +\(since the saga was created\)$/);
    expect(lines[2]).toMatch(/^ {2}\+ {4}3 ms {2}EXECUTE +create +@orders +#1 +SUCCEEDED \+ {4}8 ms$/);
  });

  it('shows no compensation for a COMPLETED saga', () => {
    const text = renderTimeline(saga({ steps: [step('create', {}), step('notify', { noCompensation: true })] }));
    expect(text).not.toContain('SKIPPED');
    expect(text.split('\n').at(-1)).toBe('  steps: create: executed SUCCEEDED; notify: executed SUCCEEDED');
  });

  it('says why a step of a compensated saga was not compensated', () => {
    const text = renderTimeline(
      saga({
        state: 'COMPENSATED',
        forwardStatus: 'FAILED',
        compensationStatus: 'SUCCEEDED',
        failedStep: 'pay',
        steps: [
          step('create', { compensateStatus: 'SUCCEEDED' }),
          step('notify', { noCompensation: true }),
          step('pay', { executeStatus: 'FAILED', compensateStatus: 'SUCCEEDED' }),
          step('ship', { executeStatus: 'PENDING' }),
        ],
      }),
    );
    expect(text.split('\n').at(-1)).toBe(
      '  steps: create: executed SUCCEEDED, compensation SUCCEEDED; notify: executed SUCCEEDED, compensation skipped (no_compensation); ' +
        'pay: executed FAILED, compensation SUCCEEDED; ship: executed PENDING, compensation skipped (never executed)',
    );
  });
});
