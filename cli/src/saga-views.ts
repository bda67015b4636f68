// Human views of saga records: the compensation log of one saga (steps ×
// attempts), a list of sagas, the MANUAL queue, one line per watched snapshot;
// and of transactional messages and dead letters.

import type { SagaRecord, SagaSummary, StartSagaResult, TxMessageRecord, TxMessageSummary } from '@saga/sdk';
import type { DeadLetterRecord } from './dead-letter-client.js';
import { isoOrDash, offsetMs, renderTable, stateColumn, type Output } from './output.js';

/** The saga's header and one row per attempt of every step, in definition order. */
export function renderSaga(saga: SagaRecord, out: Output): string[] {
  const tcc = saga.kind === 'TCC';
  const lines = [`${tcc ? 'tcc' : 'saga'} ${saga.sagaId}  ${saga.name}  ${out.state(saga.state)}`];
  lines.push(
    tcc
      ? `  phase ${saga.phase}, version ${saga.version}`
      : `  forward ${out.state(saga.forwardStatus)}, compensation ${out.state(saga.compensationStatus)}, version ${saga.version}`,
  );
  lines.push(
    `  created ${isoOrDash(saga.createdAt)}` +
      (saga.finishedAt === undefined ? '' : `, finished ${offsetMs(saga.finishedAt, saga.createdAt)}`) +
      (saga.deadline === undefined ? '' : `, deadline ${isoOrDash(saga.deadline)}`),
  );
  if (saga.failedStep !== '') lines.push(`  failed step: ${saga.failedStep}`);
  if (saga.failureReason !== '') lines.push(`  reason: ${saga.failureReason}`);
  if (saga.resolutionNote !== '') lines.push(`  resolution: ${saga.resolutionNote}`);
  const rows: string[][] = [];
  for (const step of saga.steps) {
    // A TCC branch: Try / Confirm / Cancel (executeStatus is the Try's, compensateStatus the Cancel's).
    const status = tcc ? `${step.executeStatus}/${step.confirmStatus}/${step.compensateStatus}` : `${step.executeStatus}/${step.compensateStatus}`;
    if (step.attempts.length === 0) {
      rows.push([step.name, step.participant, status, '-', '', '', '', '', '']);
      continue;
    }
    step.attempts.forEach((a, i) => {
      const error = [a.errorCode, a.errorMessage].filter((s) => s !== '').join(' ');
      const outcome = a.resent > 0 ? `${a.outcome} (re-sent ${a.resent})` : a.outcome;
      rows.push([
        i === 0 ? step.name : '',
        i === 0 ? step.participant : '',
        i === 0 ? status : '',
        a.operation,
        String(a.number),
        offsetMs(a.startedAt, saga.createdAt),
        a.finishedAt === undefined || a.startedAt === undefined ? '-' : `${a.finishedAt.getTime() - a.startedAt.getTime()}ms`,
        outcome,
        error,
      ]);
    });
  }
  const table = renderTable(
    [
      { header: 'STEP' },
      { header: 'PARTICIPANT' },
      { header: tcc ? 'TRY/CONFIRM/CANCEL' : 'EXECUTE/COMPENSATE' },
      { header: 'CALL' },
      { header: '#' },
      { header: 'START' },
      { header: 'TOOK' },
      stateColumn('OUTCOME', out),
      { header: 'ERROR' },
    ],
    rows,
    out,
  );
  return [...lines, '', ...table];
}

export function renderSummaries(sagas: readonly SagaSummary[], out: Output): string[] {
  if (sagas.length === 0) return ['no sagas'];
  return renderTable(
    [{ header: 'SAGA' }, { header: 'NAME' }, { header: 'KIND' }, stateColumn('STATE', out), { header: 'CREATED' }, { header: 'FAILED STEP' }],
    sagas.map((s) => [s.sagaId, s.name, s.kind, s.state, isoOrDash(s.createdAt), s.failedStep || '-']),
    out,
  );
}

/** The MANUAL queue: oldest first, with why each saga is stuck. */
export function renderManualQueue(sagas: readonly SagaSummary[], out: Output): string[] {
  if (sagas.length === 0) return ['no saga is waiting in MANUAL'];
  return renderTable(
    [{ header: 'SAGA' }, { header: 'NAME' }, { header: 'MANUAL SINCE' }, { header: 'FAILED STEP' }, { header: 'REASON' }],
    sagas.map((s) => [s.sagaId, s.name, isoOrDash(s.finishedAt ?? s.updatedAt), s.failedStep || '-', s.failureReason]),
    out,
  );
}

/** One line per watched snapshot. */
export function renderSnapshotLine(saga: SagaRecord, out: Output): string {
  const steps = saga.steps.map((s) => `${s.name}=${s.executeStatus}/${s.compensateStatus}`).join(' ');
  return `${isoOrDash(saga.updatedAt)}  v${saga.version}  ${out.state(saga.state)}  ${out.dim(steps)}`;
}

export function renderStartResult(result: StartSagaResult, out: Output): string[] {
  const lines = [`saga ${result.sagaId}: ${out.state(result.outcome)} (state ${result.state}${result.created ? ', created' : ', existing'})`];
  if (result.failedStep !== '') lines.push(`  failed step: ${result.failedStep}`);
  if (result.failureReason !== '') lines.push(`  reason: ${result.failureReason}`);
  return lines;
}

export function renderMessage(message: TxMessageRecord, out: Output): string[] {
  return [
    `message ${message.messageId}  ${out.state(message.state)}`,
    `  subject ${message.subject}, key ${message.key || '-'}, producer ${message.producer}`,
    `  created ${isoOrDash(message.createdAt)}, decided ${isoOrDash(message.decidedAt)}, published ${isoOrDash(message.publishedAt)}`,
    `  check-backs ${message.checks} of ${message.checkPolicy.maxChecks}, next ${isoOrDash(message.nextCheckAt)}, deliver at ${isoOrDash(message.deliverAt)}`,
    ...(message.reason === '' ? [] : [`  reason: ${message.reason}`]),
    `  payload ${message.payload.length} bytes, headers ${Object.keys(message.headers).length}`,
  ];
}

/** Messages, newest first: state, check-backs, decision and publication. */
export function renderMessageSummaries(messages: readonly TxMessageSummary[], out: Output): string[] {
  if (messages.length === 0) return ['no messages'];
  return renderTable(
    [
      { header: 'MESSAGE' },
      { header: 'SUBJECT' },
      { header: 'KEY' },
      { header: 'PRODUCER' },
      stateColumn('STATE', out),
      { header: 'CREATED' },
      { header: 'CHECKS' },
      { header: 'NEXT CHECK' },
      { header: 'PUBLISHED' },
      { header: 'REASON' },
    ],
    messages.map((m) => [
      m.messageId,
      m.subject,
      m.key || '-',
      m.producer,
      m.state,
      isoOrDash(m.createdAt),
      `${m.checks}/${m.maxChecks}`,
      isoOrDash(m.nextCheckAt),
      isoOrDash(m.publishedAt),
      m.reason,
    ]),
    out,
  );
}

export function renderDeadLetters(letters: readonly DeadLetterRecord[], out: Output): string[] {
  if (letters.length === 0) return ['no dead letters'];
  return renderTable(
    [{ header: 'EVENT' }, { header: 'SUBJECT' }, { header: 'KEY' }, { header: 'BYTES' }, { header: 'FAILED AT' }, { header: 'ATTEMPTS' }, { header: 'WAITING' }, { header: 'ERROR' }],
    letters.map((d) => [d.eventId, d.subject, d.orderingKey, String(d.payloadBytes), isoOrDash(d.failedAt), String(d.attempts), String(d.waitingBehind), d.error]),
    out,
  );
}
