// A unit of work refused on its own by the store (a uniqueness constraint: two
// StartSagas racing on one new saga id, a second writer of a saga's journal)
// while the units committed with it were written. Nothing of the unit was
// written. Backend-neutral: every store answers such a unit with this error.

import { DomainError } from '../domain/errors.js';

export class WriteConflictError extends DomainError {
  constructor(override readonly cause: Error) {
    super('ALREADY_EXISTS', 'a concurrent write of the same record won; nothing of this one was written');
    this.name = 'WriteConflictError';
  }
}
