// The text views of saga records: a TCC transaction shows its kind, phase and
// each branch's Try/Confirm/Cancel statuses; a saga keeps its own columns.

import type { AttemptRecord, SagaRecord, StepRecord } from '@saga/sdk';
import { describe, expect, it } from 'vitest';
import { parseDefinition } from './definition-file.js';
import { createOutput } from './output.js';
import { renderSaga, renderSummaries } from './saga-views.js';

const out = createOutput({ json: false, stream: { isTTY: false } as NodeJS.WriteStream, env: {} });
const at = new Date('2026-12-02T04:00:00.000Z');

function attempt(operation: AttemptRecord['operation'], ms: number): AttemptRecord {
  return {
    operation,
    number: 1,
    startedAt: new Date(at.getTime() + ms),
    finishedAt: new Date(at.getTime() + ms + 2),
    outcome: 'SUCCEEDED',
    errorCode: '',
    errorMessage: '',
    resent: 0,
  };
}

function step(name: string, attempts: AttemptRecord[], statuses: Pick<StepRecord, 'executeStatus' | 'compensateStatus' | 'confirmStatus'>): StepRecord {
  return { name, participant: 'stock', action: 'freeze', compensateAction: '', attempts, nextAttemptAt: undefined, ...statuses } as unknown as StepRecord;
}

function record(kind: SagaRecord['kind'], steps: StepRecord[]): SagaRecord {
  return {
    sagaId: `${kind.toLowerCase()}-1`,
    name: 'checkout',
    kind,
    phase: kind === 'TCC' ? 'CONFIRM' : 'UNSPECIFIED',
    state: 'COMPLETED',
    forwardStatus: 'SUCCEEDED',
    compensationStatus: 'NOT_NEEDED',
    steps,
    options: { deadlineMs: 0, defaultRetry: undefined, defaultCompensationRetry: undefined },
    metadata: {},
    createdAt: at,
    updatedAt: at,
    finishedAt: new Date(at.getTime() + 20),
    deadline: undefined,
    failedStep: '',
    failureReason: '',
    resolutionNote: '',
    version: 5,
  } as unknown as SagaRecord;
}

describe('saga views', () => {
  it('shows a TCC transaction as such: its phase, and Try/Confirm/Cancel per branch', () => {
    const text = renderSaga(
      record('TCC', [step('stock', [attempt('TRY', 1), attempt('CONFIRM', 5)], { executeStatus: 'SUCCEEDED', confirmStatus: 'SUCCEEDED', compensateStatus: 'PENDING' })]),
      out,
    ).join('\n');
    expect(text).toContain('tcc tcc-1  checkout  COMPLETED');
    expect(text).toContain('  phase CONFIRM, version 5');
    expect(text).toMatch(/^STEP +PARTICIPANT +TRY\/CONFIRM\/CANCEL +CALL/m);
    expect(text).toMatch(/^stock +stock +SUCCEEDED\/SUCCEEDED\/PENDING +TRY +1 +\+1ms +2ms +SUCCEEDED/m);
    expect(text).toMatch(/^ +CONFIRM +1 +\+5ms/m);
    expect(text).not.toContain('forward');
  });

  it('keeps a saga\'s header and Execute/Compensate columns', () => {
    const text = renderSaga(
      record('SAGA', [step('reserve', [attempt('EXECUTE', 1)], { executeStatus: 'SUCCEEDED', confirmStatus: 'UNSPECIFIED', compensateStatus: 'PENDING' })]),
      out,
    ).join('\n');
    expect(text).toContain('saga saga-1  checkout  COMPLETED');
    expect(text).toContain('  forward SUCCEEDED, compensation NOT_NEEDED, version 5');
    expect(text).toMatch(/^reserve +stock +SUCCEEDED\/PENDING +EXECUTE/m);
  });

  it('lists the kind of each transaction', () => {
    const summary = (id: string, kind: SagaRecord['kind']) =>
      ({ sagaId: id, name: 'checkout', kind, state: 'RUNNING', createdAt: at, updatedAt: at, finishedAt: undefined, failedStep: '', failureReason: '' }) as const;
    const lines = renderSummaries([summary('a', 'SAGA'), summary('b', 'TCC')], out);
    expect(lines[0]).toMatch(/^SAGA +NAME +KIND +STATE/);
    expect(lines[1]).toMatch(/^a +checkout +SAGA +RUNNING/);
    expect(lines[2]).toMatch(/^b +checkout +TCC +RUNNING/);
  });

  it('reads kind TCC from a definition file and refuses another kind naming the field', () => {
    const tcc = parseDefinition(JSON.stringify({ name: 'checkout', kind: 'TCC', steps: [{ name: 'stock', participant: 'stock', action: 'freeze' }] }), 'tcc.json');
    expect(tcc.definition.kind).toBe('TCC');
    expect(() => parseDefinition(JSON.stringify({ name: 'x', kind: 'XA', steps: [] }), 'xa.json')).toThrow(/^xa\.json: kind: must be SAGA or TCC/);
  });
});
