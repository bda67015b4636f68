// Turns committed journal events into metrics: starts, outcomes, attempt
// durations, retries and compensation durations. Fed by the engine's
// onCommitted hook, so it counts only what is durable. Holds no state of its
// own per saga: call timings come from the saga's runtime. Saga and step names
// are client-chosen: their label values are capped (the rest are "other").

import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import type { CoordinatorMetrics } from './coordinator-metrics.js';
import { LabelCap } from './label-cap.js';

export interface SagaMetricsObserverOptions {
  readonly metrics: CoordinatorMetrics;
  /** When the saga's compensation began (the engine's record; also after a restart). */
  readonly compensationStartedAt: (sagaId: string) => number | undefined;
  /** Distinct saga names, and distinct (saga, step) pairs, labelled as such; the rest are "other". */
  readonly maxLabelValues: number;
}

const OUTCOME = { S: 'succeeded', F: 'failed', E: 'error' } as const;
const NO_KIND = {};
const TCC_KIND = { kind: 'tcc' } as const;

export class SagaMetricsObserver {
  private readonly sagaNames: LabelCap;
  /** Step labels are capped per (saga, step) pair: it bounds the step series themselves. */
  private readonly stepNames: LabelCap;

  constructor(private readonly options: SagaMetricsObserverOptions) {
    this.sagaNames = new LabelCap(options.maxLabelValues);
    this.stepNames = new LabelCap(options.maxLabelValues);
  }

  observe(saga: SagaRuntime, events: readonly JournalEvent[]): void {
    const m = this.options.metrics;
    const name = this.sagaNames.label(saga.definition.name);
    // Only TCC series carry a kind label, so that the series of sagas stay as they were.
    const k = saga.tcc === undefined ? NO_KIND : TCC_KIND;
    const stepName = (s: number): string => {
      const step = saga.definition.steps[s]?.name ?? String(s);
      return this.stepNames.label(step, `${name}\u0000${step}`);
    };
    // The first write of a saga holds all of its events so far: it was just started.
    if (saga.version === events.length) m.sagasStarted.inc({ saga: name, ...k });
    for (const e of events) {
      switch (e.t) {
        case 'dispatch':
          if (e.n > 1) m.stepRetries.inc({ saga: name, step: stepName(e.s), operation: e.op, ...k });
          break;
        case 'result': {
          // Timed from the call's dispatch, or from its re-send after a restart
          // (the runtime keeps when the step's latest call went out).
          const at = saga.steps[e.s]?.sentAt;
          if (at !== undefined) {
            m.stepDuration.observe(
              { saga: name, step: stepName(e.s), operation: e.op, outcome: OUTCOME[e.o], ...k },
              Math.max(0, e.at - at) / 1000,
            );
          }
          break;
        }
        case 'finish': {
          const outcome = e.state.toLowerCase();
          m.sagasFinished.inc({ saga: name, outcome, ...k });
          m.sagaDuration.observe({ saga: name, outcome, ...k }, Math.max(0, e.at - saga.createdAt) / 1000);
          if (e.state !== 'COMPLETED') {
            const since = this.options.compensationStartedAt(saga.id);
            if (since !== undefined) m.compensationDuration.observe({ saga: name, outcome, ...k }, Math.max(0, e.at - since) / 1000);
          }
          break;
        }
        case 'resolve':
          m.sagasFinished.inc({ saga: name, outcome: 'resolved', ...k });
          break;
        default:
          break;
      }
    }
  }
}
