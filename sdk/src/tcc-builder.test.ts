import { TransactionKind } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import type { SagaStarter } from './saga-builder.js';
import { toStartSagaRequest } from './saga-conversion.js';
import type { SagaDefinition } from './saga-definition.js';
import { TccBuilder } from './tcc-builder.js';

describe('TccBuilder', () => {
  it('builds branches as a TCC definition (Try policy → retry, Confirm/Cancel policy → compensationRetry) and starts it as kind TCC', async () => {
    const started: SagaDefinition[] = [];
    const starter: SagaStarter = {
      startSaga: (definition) => {
        started.push(definition);
        return Promise.resolve({ sagaId: 'tx-1', created: true, state: 'RUNNING', outcome: 'STILL_RUNNING', failedStep: '', failureReason: '' });
      },
    };
    const tryRetry = { maxAttempts: 3 };
    const confirmCancelRetry = { maxAttempts: 10, maxBackoffMs: 1_000 };
    await new TccBuilder(starter, 'checkout')
      .branch('stock', { participant: 'stock', action: 'reserve', payload: { sku: 'A', quantity: 2 }, tryRetry, confirmCancelRetry })
      .branch('points', { participant: 'points', action: 'freeze', payload: { userId: 'u-1', points: 30 } })
      .options({ deadlineMs: 5_000 })
      .start({ sagaId: 'tx-1' });
    const [definition] = started;
    expect(definition).toMatchObject({
      kind: 'TCC',
      name: 'checkout',
      options: { deadlineMs: 5_000 },
      steps: [
        { name: 'stock', action: 'reserve', retry: tryRetry, compensationRetry: confirmCancelRetry },
        { name: 'points', action: 'freeze' },
      ],
    });
    const request = toStartSagaRequest(definition!, { sagaId: 'tx-1' });
    expect(request.kind).toBe(TransactionKind.TRANSACTION_KIND_TCC);
    expect(request.steps.map((s) => [s.compensateAction, s.noCompensation])).toEqual([
      ['', false],
      ['', false],
    ]);
    expect(toStartSagaRequest({ ...definition!, kind: undefined }, {}).kind).toBe(TransactionKind.TRANSACTION_KIND_SAGA);
  });

  it('refuses an invalid branch with a TypeError naming the field', () => {
    const starter: SagaStarter = { startSaga: () => Promise.reject(new Error('not reached')) };
    expect(() => new TccBuilder(starter, 'checkout').branch('stock', { participant: '', action: 'reserve' }).definition()).toThrow(TypeError);
  });
});
