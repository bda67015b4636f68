// Which publish failures no retry can cure: the event itself is refused (too
// large for the server's max_payload or the stream's max_msg_size, an invalid
// subject). Anything else (timeouts, a lost connection, no stream yet, a
// JetStream outage) is transient and retried without limit. Decided by the
// client library's error classes and the JetStream API status, never by text.

import { JetStreamApiError } from '@nats-io/jetstream';
import { InvalidArgumentError, InvalidSubjectError } from '@nats-io/transport-node';

export function isPermanentPublishError(err: unknown): boolean {
  if (err instanceof InvalidArgumentError || err instanceof InvalidSubjectError) return true;
  return err instanceof JetStreamApiError && err.status >= 400 && err.status < 500;
}
