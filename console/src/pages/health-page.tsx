// Health and alerts: compensation success rate over the alert window, the
// MANUAL count, compensations running too long, throughput and latency from
// the coordinator's metrics, and each alert rule's state. Refreshed every 5 s.

import { useEffect } from 'preact/hooks';
import { get } from '../api';
import type { Health, Quantiles } from '../api-types';
import { duration, percent, seconds, time } from '../format';
import { sagaHref } from '../router';
import { useLoad } from '../use-load';
import { ErrorLine, HeadRow } from '../components/table-parts';

export function HealthPage() {
  const health = useLoad((signal) => get<Health>('/api/health', signal), []);
  useEffect(() => {
    const t = setInterval(health.reload, 5000);
    return () => clearInterval(t);
  }, [health.reload]);
  const h = health.data;
  return (
    <section aria-labelledby="health-title">
      <h1 id="health-title">Health and alerts</h1>
      <ErrorLine error={health.error} />
      {h === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <>
          <div class="cards">
            <Card label={`Compensation success, last ${duration(h.compensation.windowMs)}`} value={percent(h.compensation.successRatio)} bad={(h.compensation.successRatio ?? 1) < h.compensation.threshold} testid="success-rate" />
            <Card label="Waiting in MANUAL" value={String(h.manual)} bad={h.manual > 0} testid="manual-count" href="#/manual" />
            <Card label={`Compensations > ${duration(h.slowCompensations.thresholdMs)}`} value={String(h.slowCompensations.slow.length)} bad={h.slowCompensations.slow.length > 0} testid="slow-count" />
            <Card label="In flight" value={String(h.inFlight)} testid="in-flight" />
            <Card label={`Started / s (last ${duration(h.throughput.windowMs)})`} value={h.throughput.startedPerSecond.toFixed(2)} testid="started-rate" />
            <Card label="Finished / s" value={h.throughput.finishedPerSecond.toFixed(2)} testid="finished-rate" />
          </div>
          <h2>Alert rules</h2>
          <div class="scroll-x">
            <table class="list" aria-label="Alert rules">
              <HeadRow columns={['Rule', 'State', 'Value', 'Threshold', 'Meaning']} />
              <tbody>
                {h.alerts.map((a) => (
                  <tr key={a.kind} data-alert={a.kind} data-firing={String(a.firing)}>
                    <td>{a.kind}</td>
                    <td>
                      <span class={`badge ${a.firing ? 'badge-firing' : a.enabled ? 'badge-ok' : 'badge-off'}`}>{!a.enabled ? 'disabled' : a.firing ? 'FIRING' : 'ok'}</span>
                    </td>
                    <td>{alertValue(a.kind, a.value)}</td>
                    <td>{alertValue(a.kind, a.threshold)}</td>
                    <td>{a.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Latency (since the coordinator started)</h2>
          <div class="scroll-x">
            <table class="list" aria-label="Latency">
              <HeadRow columns={['What', 'Count', 'p50', 'p95', 'p99']} />
              <tbody>
                <LatencyRow label="Execute attempt" q={h.latency.execute} />
                <LatencyRow label="Compensate attempt" q={h.latency.compensate} />
                <LatencyRow label="Whole compensation" q={h.latency.compensation} />
              </tbody>
            </table>
          </div>
          <h2>Compensations running longer than {duration(h.slowCompensations.thresholdMs)}</h2>
          {h.slowCompensations.slow.length === 0 ? (
            <p>None (of {h.slowCompensations.compensating} compensating now).</p>
          ) : (
            <ul>
              {h.slowCompensations.slow.map((c) => (
                <li key={c.sagaId}>
                  <a href={sagaHref(c.sagaId)} class="mono">
                    {c.sagaId}
                  </a>{' '}
                  ({c.sagaName}) for {duration(c.runningMs)}, since {time(c.since)}
                </li>
              ))}
            </ul>
          )}
          <p class="small">As of {time(h.at)}. Latencies are histogram bucket bounds.</p>
        </>
      )}
    </section>
  );
}

function Card({ label, value, bad, testid, href }: { label: string; value: string; bad?: boolean; testid: string; href?: string }) {
  const body = (
    <>
      <span class="card-value" data-testid={testid}>
        {value}
      </span>
      <span class="card-label">{label}</span>
    </>
  );
  return <div class={`card ${bad === true ? 'bad' : ''}`}>{href === undefined ? body : <a href={href}>{body}</a>}</div>;
}

function LatencyRow({ label, q }: { label: string; q: Quantiles }) {
  return (
    <tr>
      <td>{label}</td>
      <td>{q.count}</td>
      <td>{seconds(q.p50)}</td>
      <td>{seconds(q.p95)}</td>
      <td>{seconds(q.p99)}</td>
    </tr>
  );
}

function alertValue(kind: string, v: number | undefined): string {
  if (v === undefined) return '—';
  if (kind === 'compensation_success_rate') return percent(v);
  if (kind === 'slow_compensation') return duration(v);
  return String(v);
}
