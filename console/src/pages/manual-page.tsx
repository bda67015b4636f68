// The MANUAL queue: sagas waiting for an operator, the longest waiting first,
// with the reason and the stuck step, and Retry / Resolve on each.

import { useEffect, useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import type { ManualEntry } from '../api-types';
import { SagaActions } from '../components/saga-actions';
import { duration, time } from '../format';
import { onLive } from '../live-updates';
import { sagaHref } from '../router';
import { useLoad, useThrottled } from '../use-load';

interface Page {
  total: number;
  truncated: boolean;
  entries: ManualEntry[];
  nextPageToken: string;
}

export function ManualPage() {
  const [tokens, setTokens] = useState<string[]>(['']);
  const pageToken = tokens[tokens.length - 1] ?? '';
  const page = useLoad((signal) => get<Page>(withQuery('/api/manual', { pageSize: '25', pageToken }), signal), [pageToken]);
  const refresh = useThrottled(page.reload, 500);
  useEffect(() => onLive((e) => (e.type !== 'status' ? refresh() : undefined)), [refresh]);
  const now = Date.now();
  return (
    <section aria-labelledby="manual-title">
      <h1 id="manual-title">MANUAL queue</h1>
      <p>
        {page.data === undefined ? '…' : `${page.data.total}${page.data.truncated ? '+' : ''} sagas wait for an operator`}, the longest waiting first.
        Fix the participant, then Retry; or Resolve with a note saying what was done by hand.
      </p>
      {page.error !== undefined && (
        <p role="alert" class="error">
          {page.error}
        </p>
      )}
      <div class="scroll-x">
        <table class="list" aria-label="MANUAL sagas">
          <thead>
            <tr>
              <th scope="col">Waiting</th>
              <th scope="col">Saga</th>
              <th scope="col">Stuck step</th>
              <th scope="col">Reason</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {page.data?.entries.map((e) => (
              <tr key={e.sagaId} data-saga-id={e.sagaId}>
                <td>
                  {duration(now - e.waitingSince)}
                  <div class="small">since {time(e.waitingSince)}</div>
                </td>
                <td>
                  <a href={sagaHref(e.sagaId)} class="mono">
                    {e.sagaId}
                  </a>
                  <div class="small">{e.name}</div>
                </td>
                <td>{e.stuckStep}</td>
                <td class="reason">{e.failureReason}</td>
                <td>
                  <SagaActions sagaId={e.sagaId} state={e.state} onDone={page.reload} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.data?.entries.length === 0 && <p>Nothing waits in MANUAL.</p>}
      <nav class="row pager" aria-label="Pages">
        <button type="button" disabled={tokens.length <= 1} onClick={() => setTokens(tokens.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={(page.data?.nextPageToken ?? '') === ''} onClick={() => setTokens([...tokens, page.data?.nextPageToken ?? ''])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
