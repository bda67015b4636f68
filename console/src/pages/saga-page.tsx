// One saga: state, failure reason and note, actions, the step graph, the
// attempt timeline and the steps' sizes; reloaded on each of its changes.

import { useEffect, useState } from 'preact/hooks';
import { errorText, get } from '../api';
import type { Saga, Step } from '../api-types';
import { AttemptTimeline } from '../components/attempt-timeline';
import { SagaActions } from '../components/saga-actions';
import { StateBadge } from '../components/state-badge';
import { StepGraph } from '../components/step-graph';
import { HeadRow } from '../components/table-parts';
import { bytes, time } from '../format';
import { onLive } from '../live-updates';
import { useSession } from '../session';
import { useLoad, useThrottled } from '../use-load';

export function SagaPage({ id }: { id: string }) {
  const saga = useLoad((signal) => get<{ saga: Saga }>(`/api/sagas/${encodeURIComponent(id)}`, signal), [id]);
  const [now, setNow] = useState(Date.now());
  const refresh = useThrottled(saga.reload, 200);
  useEffect(() => onLive((e) => (e.type === 'burst' || (e.type === 'saga' && e.change.sagaId === id) ? refresh() : undefined)), [id, refresh]);
  const s = saga.data?.saga;
  const active = s?.state === 'RUNNING' || s?.state === 'COMPENSATING';
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  if (saga.error !== undefined && s === undefined) {
    return (
      <section>
        <h1>Saga {id}</h1>
        <p role="alert" class="error">
          {saga.error}
        </p>
      </section>
    );
  }
  if (s === undefined) return <p aria-busy="true">Loading…</p>;
  return (
    <section aria-labelledby="saga-title">
      <p>
        <a href="#/sagas">← Sagas</a>
      </p>
      <div class="row spread">
        <h1 id="saga-title">
          {s.name} <span class="mono small">{s.sagaId}</span>
          {s.kind === 'TCC' && (
            <span class="badge kind-tcc" data-testid="kind" title="a TCC transaction: Try, then Confirm or Cancel">
              TCC
            </span>
          )}
        </h1>
        <span data-testid="saga-state">
          <StateBadge state={s.state} />
        </span>
      </div>
      <SagaActions sagaId={s.sagaId} state={s.state} onDone={saga.reload} />
      <dl class="facts">
        {s.kind === 'TCC' ? (
          <>
            <dt>Phase</dt>
            <dd data-testid="phase">{s.phase ?? '—'}</dd>
          </>
        ) : (
          <>
            <dt>Forward</dt>
            <dd>{s.forwardStatus}</dd>
            <dt>Compensation</dt>
            <dd>{s.compensationStatus}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{time(s.createdAt)}</dd>
        <dt>Last change</dt>
        <dd>{time(s.updatedAt)}</dd>
        <dt>Finished</dt>
        <dd>{time(s.finishedAt)}</dd>
        <dt>Deadline</dt>
        <dd>{s.deadlineAt === undefined ? 'none' : time(s.deadlineAt)}</dd>
        <dt>Metadata</dt>
        <dd>{s.metadata.length === 0 ? 'none' : s.metadata.map((m) => `${m.key} (${bytes(m.valueBytes)})`).join(', ')}</dd>
      </dl>
      {s.failureReason !== '' && (
        <div class="callout bad" data-testid="failure-reason">
          <strong>Failure{s.failedStep !== '' ? ` at ${s.failedStep}` : ''}:</strong> {s.failureReason}
        </div>
      )}
      {s.resolutionNote !== '' && (
        <div class="callout note" data-testid="resolution-note">
          <strong>Resolution note:</strong> {s.resolutionNote}
        </div>
      )}
      <h2>Step graph</h2>
      <StepGraph steps={s.steps} />
      <h2>Timeline</h2>
      <AttemptTimeline steps={s.steps} now={now} />
      <h2>Steps</h2>
      <StepTable saga={s} />
    </section>
  );
}

function StepTable({ saga }: { saga: Saga }) {
  const tcc = saga.kind === 'TCC';
  const statuses = tcc ? ['Try', 'Confirm', 'Cancel'] : ['Execute', 'Compensate'];
  return (
    <div class="scroll-x">
      <table class="list" aria-label={tcc ? 'Branches' : 'Steps'}>
        <HeadRow columns={[tcc ? 'Branch' : 'Step', 'Participant', ...statuses, 'Payload', 'Output', 'Metadata', 'Next attempt']} />
        <tbody>
          {saga.steps.map((st) => (
            <tr key={st.name} data-step={st.name}>
              <td>
                {st.name}
                <div class="small">{tcc ? st.action : `${st.action} / ${st.noCompensation ? 'no compensation' : st.compensateAction}`}</div>
              </td>
              <td>{st.participant}</td>
              <td data-status="execute">
                <StateBadge state={st.executeStatus} />
              </td>
              {tcc && (
                <td data-status="confirm">
                  <StateBadge state={st.confirmStatus ?? 'PENDING'} />
                </td>
              )}
              <td data-status="compensate">
                <StateBadge state={st.compensateStatus} />
              </td>
              <td>
                {bytes(st.payloadBytes)} <Reveal saga={saga} step={st} what="payload" />
              </td>
              <td>
                {bytes(st.outputBytes)} {st.outputBytes !== undefined && <Reveal saga={saga} step={st} what="output" />}
              </td>
              <td>{st.metadata.length === 0 ? '—' : st.metadata.map((m) => `${m.key} (${bytes(m.valueBytes)})`).join(', ')}</td>
              <td>{time(st.nextAttemptAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Shows a step's payload or output on request, to an operator only. */
function Reveal({ saga, step, what }: { saga: Saga; step: Step; what: 'payload' | 'output' }) {
  const session = useSession();
  const [shown, setShown] = useState<string | undefined>(undefined);
  if (!session.has('operator')) return null;
  if (shown !== undefined) return <pre class="data">{shown}</pre>;
  const show = (): void => {
    get<{ bytes: number; base64: string; text?: string }>(`/api/sagas/${encodeURIComponent(saga.sagaId)}/steps/${encodeURIComponent(step.name)}/${what}`).then(
      (d) => setShown(d.text ?? `base64: ${d.base64}`),
      (err: unknown) => setShown(errorText(err)),
    );
  };
  return (
    <button type="button" class="link" onClick={show} aria-label={`Show the ${what} of ${step.name}`}>
      show
    </button>
  );
}
