// The sagas list: counts per state, filters (state, name, created range, id),
// pages over the store's index, updated live.

import { useEffect, useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { SAGA_STATES, type SagaState, type SagaSummary } from '../api-types';
import { StateBadge } from '../components/state-badge';
import { ErrorLine, HeadRow, Pager, usePageTokens } from '../components/table-parts';
import { fromLocalInput, time, toLocalInput } from '../format';
import { onLive } from '../live-updates';
import { sagaHref } from '../router';
import { useLoad, useThrottled } from '../use-load';

const FILTER_KEYS = ['state', 'name', 'from', 'to', 'id'] as const;

export function SagasPage({ query }: { query: URLSearchParams }) {
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, query.get(k) ?? ''])) as Record<(typeof FILTER_KEYS)[number], string>;
  const pages = usePageTokens();
  const pageToken = pages.token;
  const key = JSON.stringify(filters);
  useEffect(() => pages.reset(), [key]);
  const list = useLoad((signal) => get<{ sagas: SagaSummary[]; nextPageToken: string }>(withQuery('/api/sagas', { ...filters, pageSize: '25', pageToken }), signal), [key, pageToken]);
  const counts = useLoad((signal) => get<{ counts: Record<SagaState, number> }>('/api/counts', signal), []);
  const [live, setLive] = useState(false);
  const [updates, setUpdates] = useState(0);
  const refreshList = useThrottled(list.reload, 500);
  // Counting reads the whole state index: at most every 2 s, however busy the coordinator.
  const refreshCounts = useThrottled(counts.reload, 2000);
  useEffect(
    () =>
      onLive((e) => {
        if (e.type === 'status') setLive(e.connected);
        else {
          setUpdates((n) => n + 1);
          refreshList();
          refreshCounts();
        }
      }),
    [refreshList, refreshCounts],
  );
  const apply = (next: Record<string, string>): void => {
    location.hash = withQuery('#/sagas', next);
  };
  return (
    <section aria-labelledby="sagas-title">
      <div class="row spread">
        <h1 id="sagas-title">Sagas</h1>
        <span class={`live ${live ? 'on' : 'off'}`} data-testid="live" aria-live="polite">
          {live ? `live · ${updates} updates` : 'connecting…'}
        </span>
      </div>
      <ul class="counts" aria-label="Sagas per state">
        {SAGA_STATES.map((s) => (
          <li key={s}>
            <a href={withQuery('#/sagas', { state: s })} class={`count badge-${s.toLowerCase()}`} data-state={s} aria-current={filters.state === s ? 'true' : undefined}>
              <span class="count-n" data-testid={`count-${s}`}>
                {counts.data?.counts[s] ?? '…'}
              </span>
              <span class="count-label">{s}</span>
            </a>
          </li>
        ))}
      </ul>
      <FilterForm filters={filters} onApply={apply} />
      <ErrorLine error={list.error} />
      <div class="scroll-x">
        <table class="list" aria-label="Sagas" aria-busy={list.loading}>
          <HeadRow columns={['Saga id', 'Name', 'State', 'Created', 'Last change', 'Failed step', 'Reason']} />
          <tbody>
            {list.data?.sagas.map((s) => (
              <tr key={s.sagaId} data-saga-id={s.sagaId} data-state={s.state}>
                <td>
                  <a href={sagaHref(s.sagaId)} class="mono">
                    {s.sagaId}
                  </a>
                </td>
                <td>
                  {s.name}
                  {s.kind === 'TCC' && (
                    <span class="badge kind-tcc" data-testid="kind" title="a TCC transaction: Try, then Confirm or Cancel">
                      TCC
                    </span>
                  )}
                </td>
                <td>
                  <StateBadge state={s.state} />
                </td>
                <td>{time(s.createdAt)}</td>
                <td>{time(s.updatedAt)}</td>
                <td>{s.failedStep}</td>
                <td class="reason">{s.failureReason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {list.data?.sagas.length === 0 && <p>No saga matches.</p>}
      <Pager pages={pages} nextToken={list.data?.nextPageToken} />
    </section>
  );
}

function FilterForm({ filters, onApply }: { filters: Record<string, string>; onApply: (f: Record<string, string>) => void }) {
  const submit = (e: Event): void => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const value = (k: string): string => {
      const v = form.get(k);
      return typeof v === 'string' ? v.trim() : '';
    };
    onApply({ state: value('state'), name: value('name'), id: value('id'), from: fromLocalInput(value('from')), to: fromLocalInput(value('to')) });
  };
  return (
    <form class="filters" onSubmit={submit} aria-label="Filters" key={JSON.stringify(filters)}>
      <label>
        State
        <select name="state" value={filters.state}>
          <option value="">any</option>
          {SAGA_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Name
        <input name="name" value={filters.name} placeholder="exact saga name" />
      </label>
      <label>
        Created from
        <input name="from" type="datetime-local" value={toLocalInput(filters.from ?? '')} />
      </label>
      <label>
        Created before
        <input name="to" type="datetime-local" value={toLocalInput(filters.to ?? '')} />
      </label>
      <label>
        Saga id
        <input name="id" value={filters.id} placeholder="exact id" class="mono" />
      </label>
      <div class="row end">
        <button type="submit" class="primary">
          Apply filters
        </button>
        <button type="button" onClick={() => onApply({})}>
          Clear
        </button>
      </div>
    </form>
  );
}
