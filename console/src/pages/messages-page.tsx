// Transactional messages: how many in each state, and the messages (newest
// first) with their check-back attempts.

import { useState } from 'preact/hooks';
import { get, withQuery } from '../api';
import { MESSAGE_STATES, type MessageState, type MessageSummary } from '../api-types';
import { StateBadge } from '../components/state-badge';
import { time } from '../format';
import { useLoad } from '../use-load';

interface Page {
  messages: MessageSummary[];
  nextPageToken: string;
  counts: Record<MessageState, number>;
}

export function MessagesPage() {
  const [state, setState] = useState('');
  const [tokens, setTokens] = useState<string[]>(['']);
  const pageToken = tokens[tokens.length - 1] ?? '';
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
              setTokens(['']);
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
      {page.error !== undefined && (
        <p role="alert" class="error">
          {page.error}
        </p>
      )}
      <div class="scroll-x">
        <table class="list" aria-label="Messages">
          <thead>
            <tr>
              <th scope="col">Message id</th>
              <th scope="col">Subject</th>
              <th scope="col">Producer</th>
              <th scope="col">State</th>
              <th scope="col">Check-backs</th>
              <th scope="col">Prepared</th>
              <th scope="col">Decided</th>
              <th scope="col">Next check</th>
              <th scope="col">Published</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
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
