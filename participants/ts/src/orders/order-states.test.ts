import { describe, expect, it } from 'vitest';
import { compensationFor } from './order-states.js';

describe('compensationFor', () => {
  it.each([
    ['CREATED', { kind: 'transition', path: 'cancel', to: 'CANCELLED' }],
    ['PAID', { kind: 'transition', path: 'refund', to: 'REFUNDED' }],
    ['SHIPPED', { kind: 'transition', path: 'return', to: 'RETURN_REQUESTED' }],
    ['CANCELLED', { kind: 'already', state: 'CANCELLED' }],
    ['REFUNDED', { kind: 'already', state: 'REFUNDED' }],
    ['RETURN_REQUESTED', { kind: 'already', state: 'RETURN_REQUESTED' }],
    ['DISPUTED', { kind: 'unknown', state: 'DISPUTED' }],
    ['toString', { kind: 'unknown', state: 'toString' }],
  ])('%s → %o', (state, expected) => {
    expect(compensationFor(state)).toMatchObject(expected);
  });
});
