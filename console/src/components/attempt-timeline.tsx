// Gantt-style timeline: one lane per step, every Execute and Compensate attempt
// a bar from its start to its end (to now while in flight), with a table of the
// same attempts in time order below it for reading and for screen readers.

import type { Attempt, Step } from '../api-types';
import { duration, time } from '../format';
import { HeadRow } from './table-parts';

const LANE = 28;
const LABEL = 160;
const WIDTH = 1000;
const TOP = 22;

interface Row {
  readonly step: Step;
  readonly attempt: Attempt;
}

/** Forward operations (a saga's Execute, a TCC Try) come before the second phase. */
const FORWARD = new Set<Attempt['operation']>(['execute', 'try']);

/**
 * By start; attempts started in the same millisecond in the order the engine
 * runs them: executes (Tries) forward, then compensations in reverse step
 * order; a TCC transaction's Confirms and Cancels go in branch order.
 */
function byTimeThenOrder(a: Row, b: Row): number {
  const t = a.attempt.startedAt - b.attempt.startedAt;
  if (t !== 0) return t;
  const forward = FORWARD.has(a.attempt.operation);
  if (forward !== FORWARD.has(b.attempt.operation)) return forward ? -1 : 1;
  if (a.step.index !== b.step.index) return forward || a.attempt.operation !== 'compensate' ? a.step.index - b.step.index : b.step.index - a.step.index;
  return a.attempt.number - b.attempt.number;
}

export function AttemptTimeline({ steps, now }: { steps: readonly Step[]; now: number }) {
  const rows: Row[] = steps.flatMap((step) => step.attempts.map((attempt) => ({ step, attempt })));
  rows.sort(byTimeThenOrder);
  if (rows.length === 0) return <p>No attempt yet.</p>;
  const start = Math.min(...rows.map((r) => r.attempt.startedAt));
  const end = Math.max(...rows.map((r) => r.attempt.finishedAt ?? now), start + 1);
  const span = end - start;
  // Room on the right for the last bar's re-send mark.
  const x = (t: number): number => LABEL + ((t - start) / span) * (WIDTH - LABEL - 36);
  const height = TOP + steps.length * LANE + 6;
  const tcc = rows.some((r) => !['execute', 'compensate'].includes(r.attempt.operation));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => start + f * span);
  return (
    <div>
      <div class="scroll-x">
        <svg viewBox={`0 0 ${WIDTH} ${height}`} class="timeline" role="img" aria-label={`Timeline of ${rows.length} attempts over ${duration(span)}; the table below lists them`}>
          {ticks.map((t, i) => (
            <g key={t} class="tick">
              <line x1={x(t)} x2={x(t)} y1={TOP - 4} y2={height} />
              <text x={x(t)} y={12} text-anchor={i === ticks.length - 1 ? 'end' : 'middle'}>{`+${duration(t - start)}`}</text>
            </g>
          ))}
          {steps.map((s, lane) => (
            <g key={s.name}>
              <text x={4} y={TOP + lane * LANE + 18} class="lane-label">
                {s.name.length > 22 ? `${s.name.slice(0, 21)}…` : s.name}
              </text>
              {s.attempts.map((a) => {
                const x1 = x(a.startedAt);
                const w = Math.max(3, x(a.finishedAt ?? now) - x1);
                return (
                  <g key={`${a.operation}-${a.number}`} class={`bar op-${a.operation} outcome-${a.outcome.toLowerCase()}`}>
                    <title>{`${s.name} ${a.operation} #${a.number}: ${a.outcome}${a.errorCode !== '' ? ` ${a.errorCode}` : ''}${a.errorMessage !== '' ? ` — ${a.errorMessage}` : ''}; ${time(a.startedAt)} → ${time(a.finishedAt)}${a.resent > 0 ? `; re-sent ${a.resent}×` : ''}`}</title>
                    <rect x={x1} y={TOP + lane * LANE + 4} width={w} height={LANE - 8} rx={3} />
                    {a.resent > 0 && (
                      <text x={x1 + w + 3} y={TOP + lane * LANE + 18} class="resent">{`↻${a.resent}`}</text>
                    )}
                  </g>
                );
              })}
            </g>
          ))}
        </svg>
      </div>
      <p class="legend">
        {tcc ? (
          <>
            <span class="legend-item op-try"><span class="swatch" aria-hidden="true" />try</span>
            <span class="legend-item op-confirm"><span class="swatch" aria-hidden="true" />confirm</span>
            <span class="legend-item op-cancel"><span class="swatch" aria-hidden="true" />cancel</span>
          </>
        ) : (
          <>
            <span class="legend-item op-execute"><span class="swatch" aria-hidden="true" />execute</span>
            <span class="legend-item op-compensate"><span class="swatch" aria-hidden="true" />compensate</span>
          </>
        )}
        <span class="legend-item outcome-failed"><span class="swatch" aria-hidden="true" />failed / error (outlined red)</span>
        <span class="legend-item">↻N re-sent N times after a restart</span>
      </p>
      <div class="scroll-x">
        <table class="attempts" aria-label="Attempts in time order">
          <HeadRow columns={['Step', 'Operation', 'Attempt', 'Start', 'End', 'Took', 'Outcome', 'Error code', 'Message', 'Re-sent']} />
          <tbody>
            {rows.map(({ step, attempt: a }) => (
              <tr key={`${step.name}-${a.operation}-${a.number}`} data-step={step.name} data-operation={a.operation} data-outcome={a.outcome}>
                <td>{step.name}</td>
                <td>{a.operation}</td>
                <td>{a.number}</td>
                <td>{time(a.startedAt)}</td>
                <td>{time(a.finishedAt)}</td>
                <td>{duration((a.finishedAt ?? now) - a.startedAt)}</td>
                <td>{a.outcome}</td>
                <td>{a.errorCode}</td>
                <td>{a.errorMessage}</td>
                <td>{a.resent}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
