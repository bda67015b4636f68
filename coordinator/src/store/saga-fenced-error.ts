// A unit of work refused because its saga was taken over by another
// coordinator instance (its fencing epoch moved on since this instance loaded
// it). Nothing of the unit was written; the units committed with it were. The
// engine drops the saga from memory: the new owner goes on with it.

import { DomainError } from '../domain/errors.js';

export class SagaFencedError extends DomainError {
  constructor(
    readonly sagaKey: number,
    readonly expectedEpoch: number,
    /** The saga's epoch now; undefined if its row is gone. */
    readonly currentEpoch: number | undefined,
  ) {
    super(
      'UNAVAILABLE',
      `the saga moved to another coordinator instance (epoch ${currentEpoch ?? 'gone'}, this instance had ${expectedEpoch}); retry`,
    );
    this.name = 'SagaFencedError';
  }
}
