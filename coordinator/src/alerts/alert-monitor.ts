// Evaluates the alert rules periodically and soon after every outcome, and
// reports each change of a rule's condition exactly once: when it starts
// (firing) and when it ends (cleared). A change is an AlertEvent in the outbox
// (published on <prefix>.alerts.<kind>), a log line and a metric. The state is
// in memory: after a restart a condition that still holds fires again.

import type { Logger } from 'pino';
import type { AlertsConfig } from '../config/config.js';
import { beginsCompensation, type JournalEvent } from '../domain/journal-event.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import type { Store } from '../store/store.js';
import { alertOutboxRow } from './alert-events.js';
import { compensationSuccessRate, manualBacklog, slowCompensation, type AlertKindName, type AlertReading } from './alert-rules.js';
import type { CompensationWindow } from './compensation-window.js';
import type { ManualBacklog } from './manual-backlog.js';

export interface AlertMonitorOptions {
  readonly store: Store;
  readonly metrics: CoordinatorMetrics;
  readonly logger: Logger;
  readonly rules: AlertsConfig;
  readonly subjectPrefix: string;
  readonly manual: ManualBacklog;
  readonly window: CompensationWindow;
  /** The sagas compensating now and since when (the engine's view). */
  readonly compensating: () => readonly { sagaId: string; sagaName: string; since: number }[];
  /** An alert event was committed to the outbox. */
  readonly onEvent: () => void;
  readonly now?: () => number;
}

/** Outcomes are evaluated together when they come in bursts. */
const SOON_MS = 50;

export class AlertMonitor {
  private readonly firing = new Map<AlertKindName, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: AlertMonitorOptions) {
    this.now = options.now ?? Date.now;
    for (const kind of this.enabledKinds()) options.metrics.setAlertActive(kind, false);
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.options.rules.evaluateIntervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Feeds committed events: compensation outcomes into the window; outcomes trigger an evaluation. */
  observe(events: readonly JournalEvent[]): void {
    let changed = false;
    for (const e of events) {
      if (e.t === 'finish' && e.state !== 'COMPLETED') this.options.window.record(e.at, e.state === 'COMPENSATED');
      if (e.t === 'finish' || e.t === 'resolve' || beginsCompensation(e)) changed = true;
    }
    if (changed && this.soon === undefined && !this.closed) {
      this.soon = setTimeout(() => {
        this.soon = undefined;
        this.kick();
      }, SOON_MS);
      this.soon.unref();
    }
  }

  /** The success ratio over the window, undefined without data (for the gauge). */
  successRatio(): number | undefined {
    const c = this.options.window.counts(this.now());
    const total = c.succeeded + c.failed;
    return total === 0 ? undefined : c.succeeded / total;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.soon !== undefined) clearTimeout(this.soon);
    await this.running;
  }

  /** One evaluation at a time; a request during one runs another after it. */
  private kick(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.evaluate()
      .catch((err: unknown) => this.options.logger.error({ err }, 'alert evaluation failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async evaluate(): Promise<void> {
    for (const reading of this.readings()) {
      if (this.closed) return;
      if (reading.active === (this.firing.get(reading.kind) ?? false)) continue;
      await this.report(reading);
    }
  }

  private readings(): AlertReading[] {
    const { rules } = this.options;
    const now = this.now();
    const out: AlertReading[] = [];
    if (rules.compensationSuccessRate.enabled) {
      out.push(compensationSuccessRate(this.options.window.counts(now), rules.compensationSuccessRate));
    }
    if (rules.manualBacklog.enabled) out.push(manualBacklog(this.options.manual.current(), rules.manualBacklog));
    if (rules.slowCompensation.enabled) out.push(slowCompensation(this.options.compensating(), now, rules.slowCompensation));
    return out;
  }

  /** Durable first (the event), then the in-memory state, log line and metrics. */
  private async report(reading: AlertReading): Promise<void> {
    const at = this.now();
    await this.options.store.commit({ outbox: [alertOutboxRow(this.options.subjectPrefix, reading, at)] });
    this.firing.set(reading.kind, reading.active);
    const { metrics, logger } = this.options;
    metrics.setAlertActive(reading.kind, reading.active);
    metrics.alertTransitions.inc({ kind: reading.kind, state: reading.active ? 'firing' : 'cleared' });
    logger.warn(
      { alert: reading.kind, firing: reading.active, value: reading.value, threshold: reading.threshold, sagaId: reading.subjectId || undefined },
      `alert ${reading.active ? 'firing' : 'cleared'}: ${reading.message}`,
    );
    this.options.onEvent();
  }

  private enabledKinds(): AlertKindName[] {
    const r = this.options.rules;
    const kinds: AlertKindName[] = [];
    if (r.compensationSuccessRate.enabled) kinds.push('compensation_success_rate');
    if (r.manualBacklog.enabled) kinds.push('manual_backlog');
    if (r.slowCompensation.enabled) kinds.push('slow_compensation');
    return kinds;
  }
}
