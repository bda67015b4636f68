// Renders a saga record as a readable timeline of steps and compensations.

import type { SagaRecord } from '@saga/sdk';

export function renderTimeline(saga: SagaRecord): string {
  const t0 = saga.createdAt?.getTime() ?? 0;
  const rel = (d: Date | undefined): string => (d === undefined ? '      ?' : `+${String(d.getTime() - t0).padStart(5)}ms`);
  const rows = saga.steps
    .flatMap((step) => step.attempts.map((a) => ({ step: step.name, participant: step.participant, a })))
    .sort((x, y) => (x.a.startedAt?.getTime() ?? 0) - (y.a.startedAt?.getTime() ?? 0));
  const lines = [
    `saga ${saga.sagaId} "${saga.name}": ${saga.state}` +
      (saga.failedStep !== '' ? `, failed at ${saga.failedStep}` : '') +
      (saga.finishedAt !== undefined ? ` after ${saga.finishedAt.getTime() - t0} ms` : ''),
  ];
  if (saga.failureReason !== '') lines.push(`  reason: ${saga.failureReason}`);
  for (const { step, participant, a } of rows) {
    const error = a.errorCode !== '' || a.errorMessage !== '' ? `  ${a.errorCode} ${a.errorMessage}`.trimEnd() : '';
    lines.push(
      `  ${rel(a.startedAt)}  ${a.operation.padEnd(10)} ${step.padEnd(14)} @${participant.padEnd(13)} #${a.number}  ${a.outcome.padEnd(9)} ${rel(a.finishedAt).trim()}${error}`,
    );
  }
  lines.push(`  steps: ${saga.steps.map((s) => `${s.name}=${s.executeStatus}/${s.compensateStatus}`).join(', ')}`);
  return lines.join('\n');
}
