// Transactional messages: how many in each state, and the messages (newest
// first) with their check-back attempts.

import { useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { MESSAGE_STATES, type MessageState, type MessageSummary } from '../api-types';
import { DeadLetters } from '../components/dead-letters';
import { StateBadge } from '../components/state-badge';
import { ErrorLine, HeadRow, Pager, usePageTokens } from '../components/table-parts';
import { time } from '../format';
import { useLoad } from '../use-load';

interface Page {
  messages: MessageSummary[];
  nextPageToken: string;
  counts: Record<MessageState, number>;
}

export function MessagesPage() {
  const [state, setState] = useState('');
  const pages = usePageTokens();
  const pageToken = pages.token;
  const page = useLoad((signal) => get<Page>(withQuery('/api/messages', { state, pageSize: '25', pageToken }), signal), [state, pageToken]);
  return (
    <section aria-labelledby="messages-title">
      <div class="row spread">
        <h1 id="messages-title">Transactional messages</h1>
        <button type="button" onClick={page.reload}>
          Refresh
        </button>
      </div>
      <ul class="counts" aria-label="Messages per state">
        {MESSAGE_STATES.map((s) => (
          <li key={s}>
            <span class={`count badge-${s.toLowerCase()}`}>
              <span class="count-n">{page.data?.counts[s] ?? '…'}</span>
              <span class="count-label">{s}</span>
            </span>
          </li>
        ))}
      </ul>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <label>
          State
          <select
            value={state}
            onChange={(e) => {
              setState((e.target as HTMLSelectElement).value);
              pages.reset();
            }}
          >
            <option value="">any</option>
            {MESSAGE_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorLine error={page.error} />
      <div class="scroll-x">
        <table class="list" aria-label="Messages">
          <HeadRow columns={['Message id', 'Subject', 'Producer', 'State', 'Check-backs', 'Prepared', 'Decided', 'Next check', 'Published', 'Reason']} />
          <tbody>
            {page.data?.messages.map((m) => (
              <tr key={m.messageId} data-message-id={m.messageId}>
                <td class="mono">{m.messageId}</td>
                <td>
                  {m.subject}
                  {m.key !== '' && <div class="small">key {m.key}</div>}
                </td>
                <td>{m.producer}</td>
                <td>
                  <StateBadge state={m.state} />
                </td>
                <td>
                  {m.checks} of {m.maxChecks}
                </td>
                <td>{time(m.createdAt)}</td>
                <td>{time(m.decidedAt)}</td>
                <td>{time(m.nextCheckAt)}</td>
                <td>{time(m.publishedAt)}</td>
                <td class="reason">{m.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page.data?.messages.length === 0 && <p>No message.</p>}
      <Pager pages={pages} nextToken={page.data?.nextPageToken} />
      <DeadLetters />
    </section>
  );
}
