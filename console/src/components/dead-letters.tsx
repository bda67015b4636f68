// The outbox's dead letters: events the NATS server refused for what they are,
// holding back the later events of their key; an operator replays or drops one.

import { useState } from 'preact/hooks';
import { get, post, withQuery } from '../api';
import type { DeadLetter } from '../api-types';
import { bytes, time } from '../format';
import { operatorBlock, useSession } from '../session';
import { useLoad } from '../use-load';
import { ConfirmDialog, type ConfirmRequest } from './confirm-dialog';
import { ErrorLine, HeadRow, Pager, usePageTokens } from './table-parts';

interface Page {
  deadLetters: DeadLetter[];
  nextPageToken: string;
  total: number;
}

export function DeadLetters() {
  const pages = usePageTokens();
  const page = useLoad((signal) => get<Page>(withQuery('/api/dead-letters', { pageSize: '25', pageToken: pages.token }), signal), [pages.token]);
  const session = useSession();
  const blocked = operatorBlock(session);
  const [request, setRequest] = useState<ConfirmRequest | undefined>(undefined);
  const ask = (d: DeadLetter, verb: 'replay' | 'drop'): void =>
    setRequest({
      title: verb === 'replay' ? 'Publish this event again?' : 'Drop this event for good?',
      body:
        verb === 'replay'
          ? `Event ${d.eventId} goes back into the outbox; fix what made the server refuse it first.`
          : `Event ${d.eventId} is deleted; the ${d.waitingBehind} events behind it go on.`,
      confirmLabel: verb === 'replay' ? 'Replay event' : 'Drop event',
      onConfirm: async () => {
        await post(`/api/dead-letters/${encodeURIComponent(d.eventId)}/${verb}`, {});
        page.reload();
      },
    });
  return (
    <section aria-labelledby="dead-letters-title">
      <h2 id="dead-letters-title">Dead letters ({page.data?.total ?? '…'})</h2>
      <ErrorLine error={page.error} />
      {page.data?.deadLetters.length === 0 ? (
        <p>No dead letter.</p>
      ) : (
        <div class="scroll-x">
          <table class="list" aria-label="Dead letters">
            <HeadRow columns={['Event id', 'Subject', 'Key', 'Size', 'Written', 'Dead since', 'Refusals', 'Error', 'Waiting behind', 'Actions']} />
            <tbody>
              {page.data?.deadLetters.map((d) => (
                <tr key={d.eventId} data-event-id={d.eventId}>
                  <td class="mono">{d.eventId}</td>
                  <td>{d.subject}</td>
                  <td class="mono">{d.orderingKey}</td>
                  <td>{bytes(d.payloadBytes)}</td>
                  <td>{time(d.createdAt)}</td>
                  <td>{time(d.failedAt)}</td>
                  <td>{d.attempts}</td>
                  <td class="reason">{d.error}</td>
                  <td>{d.waitingBehind}</td>
                  <td>
                    <div class="row">
                      <button type="button" disabled={blocked !== undefined} title={blocked} onClick={() => ask(d, 'replay')}>
                        Replay
                      </button>
                      <button type="button" disabled={blocked !== undefined} title={blocked} onClick={() => ask(d, 'drop')}>
                        Drop
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager pages={pages} nextToken={page.data?.nextPageToken} />
      {request !== undefined && <ConfirmDialog request={request} onClose={() => setRequest(undefined)} />}
    </section>
  );
}
