// Renders a saga record as a readable timeline of steps and compensations.
// Times are milliseconds since the saga was created, under labelled columns.

import type { SagaRecord, StepRecord } from '@saga/sdk';

export function renderTimeline(saga: SagaRecord): string {
  const t0 = saga.createdAt?.getTime() ?? 0;
  const rel = (d: Date | undefined): string => (d === undefined ? '?'.padStart(8) : `+${String(d.getTime() - t0).padStart(5)} ms`);
  const rows = saga.steps
    .flatMap((step) => step.attempts.map((a) => ({ step: step.name, participant: step.participant, a })))
    .sort((x, y) => (x.a.startedAt?.getTime() ?? 0) - (y.a.startedAt?.getTime() ?? 0));
  const lines = [
    `saga ${saga.sagaId} "${saga.name}": ${saga.state}` +
      (saga.failedStep !== '' ? `, failed at ${saga.failedStep}` : '') +
      (saga.finishedAt !== undefined ? ` after ${saga.finishedAt.getTime() - t0} ms` : ''),
  ];
  if (saga.failureReason !== '') lines.push(`  reason: ${saga.failureReason}`);
  lines.push(`  ${'started'.padEnd(9)}  ${'operation'.padEnd(10)} ${'step'.padEnd(14)} ${'participant'.padEnd(14)} try  ${'outcome'.padEnd(9)} ${'finished'.padEnd(9)} (since the saga was created)`);
  for (const { step, participant, a } of rows) {
    const error = a.errorCode !== '' || a.errorMessage !== '' ? `  ${a.errorCode} ${a.errorMessage}`.trimEnd() : '';
    lines.push(
      `  ${rel(a.startedAt)}  ${a.operation.padEnd(10)} ${step.padEnd(14)} @${participant.padEnd(13)} #${String(a.number).padEnd(3)} ${a.outcome.padEnd(9)} ${rel(a.finishedAt)}${error}`,
    );
  }
  lines.push(`  steps: ${saga.steps.map((s) => stepSummary(saga, s)).join('; ')}`);
  return lines.join('\n');
}

/** "name: executed X", plus its compensation only when the saga compensated at all. */
function stepSummary(saga: SagaRecord, step: StepRecord): string {
  const executed = `${step.name}: executed ${step.executeStatus}`;
  if (saga.compensationStatus === 'NOT_NEEDED') return executed;
  if (step.compensateStatus === 'SKIPPED') {
    return `${executed}, compensation skipped (${step.noCompensation ? 'no_compensation' : 'never executed'})`;
  }
  return `${executed}, compensation ${step.compensateStatus}`;
}
