// The attempt records kept for GetSaga (the compensation log), shared by the
// saga and TCC folds: finding an attempt by operation and number, and
// recording how it ended.

import type { AttemptOutcome } from '../domain/saga-types.js';

interface AttemptLike<Op> {
  readonly operation: Op;
  readonly number: number;
  finishedAt: number | undefined;
  outcome: AttemptOutcome;
  errorCode: string;
  errorMessage: string;
}

/** The latest attempt `n` of `op` in `list` (searched from the end: it is almost always the last). */
export function findAttempt<Op, A extends AttemptLike<Op>>(list: readonly A[] | undefined, op: Op, n: number): A | undefined {
  if (list === undefined) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const a = list[i];
    if (a !== undefined && a.operation === op && a.number === n) return a;
  }
  return undefined;
}

/** Records a result on its attempt: S = succeeded, F = business failure, E = transient error. */
export function settleAttempt<Op>(
  attempt: AttemptLike<Op> | undefined,
  e: { readonly at: number; readonly o: 'S' | 'F' | 'E'; readonly code?: string; readonly msg?: string },
): void {
  if (attempt === undefined) return;
  attempt.finishedAt = e.at;
  attempt.outcome = e.o === 'S' ? 'SUCCEEDED' : e.o === 'F' ? 'FAILED' : 'ERROR';
  attempt.errorCode = e.code ?? '';
  attempt.errorMessage = e.msg ?? '';
}
