// What a saga or TCC transaction is from its creation on: never changed by its journal.

import type { SagaDefinition } from '../domain/saga-types.js';

export interface SagaIdentity {
  /** Store-assigned integer key. */
  readonly key: number;
  readonly id: string;
  readonly definition: SagaDefinition;
  readonly createdAt: number;
  readonly deadlineAt: number | undefined;
  /** Hash of the definition as requested, for idempotent StartSaga. */
  readonly definitionHash: string;
}
