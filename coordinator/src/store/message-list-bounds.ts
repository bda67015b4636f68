// The filters of a message listing besides states and the cursor, as column
// comparisons on tx_messages that each backend writes in its own placeholders.

import type { MessageListQuery } from '../messages/message-list.js';

export interface ColumnBound {
  readonly column: 'subject' | 'msg_key' | 'producer' | 'created_at';
  readonly op: '=' | '>=' | '<';
  readonly value: string | number;
}

export function messageListBounds(query: MessageListQuery): ColumnBound[] {
  const bounds: ColumnBound[] = [];
  if (query.subject !== '') bounds.push({ column: 'subject', op: '=', value: query.subject });
  if (query.key !== '') bounds.push({ column: 'msg_key', op: '=', value: query.key });
  if (query.producer !== '') bounds.push({ column: 'producer', op: '=', value: query.producer });
  if (query.createdAfter !== undefined) bounds.push({ column: 'created_at', op: '>=', value: query.createdAfter });
  if (query.createdBefore !== undefined) bounds.push({ column: 'created_at', op: '<', value: query.createdBefore });
  return bounds;
}
