// Listing transactional messages for people (the web console, ListMessages):
// summaries without payloads, newest first, over an opaque cursor. A store
// backend that offers these reads gets the console's messages page.

import type { MessageState } from './message-types.js';

export interface MessageSummary {
  readonly messageId: string;
  readonly subject: string;
  readonly key: string;
  readonly producer: string;
  readonly state: MessageState;
  /** Check-backs answered or failed so far, and the most allowed. */
  readonly checks: number;
  readonly maxChecks: number;
  readonly createdAt: number;
  readonly decidedAt: number | undefined;
  readonly deliverAt: number | undefined;
  readonly nextCheckAt: number | undefined;
  readonly publishedAt: number | undefined;
  readonly reason: string;
}

export interface MessageListQuery {
  /** Empty = every state. */
  readonly states: readonly MessageState[];
  /** Exact NATS subject; '' = any. */
  readonly subject: string;
  /** Exact business key; '' = any. */
  readonly key: string;
  /** Exact producer; '' = any. */
  readonly producer: string;
  /** Epoch ms: created at or after; undefined = no bound. */
  readonly createdAfter: number | undefined;
  /** Epoch ms: created before; undefined = no bound. */
  readonly createdBefore: number | undefined;
  readonly pageSize: number;
  /** '' = the first page; else a nextPageToken (anything else is INVALID_ARGUMENT on "pageToken"). */
  readonly pageToken: string;
}

export interface MessageListPage {
  readonly messages: MessageSummary[];
  readonly nextPageToken: string;
}

/** No filter besides states and paging (what the console asks for). */
export const UNFILTERED: Pick<MessageListQuery, 'subject' | 'key' | 'producer' | 'createdAfter' | 'createdBefore'> = {
  subject: '',
  key: '',
  producer: '',
  createdAfter: undefined,
  createdBefore: undefined,
};

export interface MessageListReads {
  listMessages(query: MessageListQuery): Promise<MessageListPage>;
  countMessagesByState(): Promise<Map<MessageState, number>>;
}
