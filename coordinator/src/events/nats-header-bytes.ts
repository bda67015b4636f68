// The bytes NATS counts against max_payload for a message's headers, as the
// client encodes them (the relay sends Nats-Msg-Id among them).

import { MsgHdrsImpl } from '@nats-io/transport-node';

export function natsHeaderBytes(headers: Readonly<Record<string, string>>): number {
  const h = new MsgHdrsImpl();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  return h.encode().length;
}
