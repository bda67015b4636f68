// The summary fields a saga's and a TCC transaction's folds both keep, and
// putting them back as the log has them (after a failed command write).

import type { SagaState } from '../domain/saga-types.js';

export interface TransactionSummary {
  state: SagaState;
  failedStep: string;
  reason: string;
  note: string;
  finishedAt: number | undefined;
  updatedAt: number;
  version: number;
}

export function copySummary(target: TransactionSummary, from: Readonly<TransactionSummary>): void {
  target.state = from.state;
  target.failedStep = from.failedStep;
  target.reason = from.reason;
  target.note = from.note;
  target.finishedAt = from.finishedAt;
  target.updatedAt = from.updatedAt;
  target.version = from.version;
}
