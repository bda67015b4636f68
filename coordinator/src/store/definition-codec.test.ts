// The stored form of a definition: a round trip keeps every field, the form is
// compact, and definitions written in the first form are still read.

import { describe, expect, it } from 'vitest';
import type { SagaDefinition } from '../domain/saga-types.js';
import { decodeDefinition, encodeDefinition } from './definition-codec.js';

const fast = { maxAttempts: 5, attemptTimeoutMs: 10_000, initialBackoffMs: 100, maxBackoffMs: 10_000, backoffMultiplier: 2 };
const slow = { maxAttempts: 10, attemptTimeoutMs: 10_000, initialBackoffMs: 200, maxBackoffMs: 60_000, backoffMultiplier: 1.5 };

const graph: SagaDefinition = {
  name: 'place-order',
  deadlineMs: 30_000,
  metadata: { tenant: 't-1' },
  graph: true,
  steps: [
    {
      name: 'create',
      participant: 'orders',
      action: 'create',
      compensateAction: 'cancel',
      payload: Buffer.from([0, 1, 2, 255]),
      dependsOn: [],
      noCompensation: false,
      retry: fast,
      compensationRetry: slow,
      metadata: {},
    },
    {
      name: 'notify',
      participant: 'notification',
      action: 'send',
      compensateAction: '',
      payload: Buffer.alloc(0),
      dependsOn: ['create'],
      noCompensation: true,
      retry: slow,
      compensationRetry: fast,
      metadata: { channel: 'sms' },
    },
  ],
};

describe('definition codec', () => {
  it('round-trips every field', () => {
    expect(decodeDefinition(encodeDefinition(graph))).toEqual(graph);
    const plain: SagaDefinition = { ...graph, deadlineMs: 0, metadata: {}, graph: false, steps: [{ ...graph.steps[0]!, dependsOn: [] }] };
    expect(decodeDefinition(encodeDefinition(plain))).toEqual(plain);
  });

  it('keeps the kind of a TCC transaction (recovery folds it as TCC)', () => {
    const tcc: SagaDefinition = { ...graph, kind: 'TCC' };
    expect(decodeDefinition(encodeDefinition(tcc)).kind).toBe('TCC');
    expect(decodeDefinition(encodeDefinition(graph)).kind).toBeUndefined();
  });

  it('stores each distinct retry policy once', () => {
    const stored = JSON.parse(encodeDefinition(graph)) as { p: unknown[] };
    expect(stored.p).toHaveLength(2);
  });

  it('reads a definition stored in the first form', () => {
    const v1 = JSON.stringify({ ...graph, steps: graph.steps.map((s) => ({ ...s, payload: s.payload.toString('base64') })) });
    expect(decodeDefinition(v1)).toEqual(graph);
    expect(encodeDefinition(graph).length).toBeLessThan(v1.length / 2);
  });

  it('refuses an unknown version', () => {
    expect(() => decodeDefinition('{"v":3}')).toThrow(/unknown version 3/);
  });
});
