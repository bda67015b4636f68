// The MANUAL queue: sagas waiting for an operator, the longest waiting first,
// with the reason and the stuck step, and Retry / Resolve on each.

import { useEffect } from 'preact/hooks';
import { get, withQuery } from '../api';
import type { ManualEntry } from '../api-types';
import { SagaActions } from '../components/saga-actions';
import { ErrorLine, HeadRow, Pager, usePageTokens } from '../components/table-parts';
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
  const pages = usePageTokens();
  const pageToken = pages.token;
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
      <ErrorLine error={page.error} />
      <div class="scroll-x">
        <table class="list" aria-label="MANUAL sagas">
          <HeadRow columns={['Waiting', 'Saga', 'Stuck step', 'Reason', 'Actions']} />
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
      <Pager pages={pages} nextToken={page.data?.nextPageToken} />
    </section>
  );
}
