// What the coordinator's event loop and its participant channel thread
// (participant-channel-worker.ts) exchange. Both directions send arrays, one
// per event-loop turn, and transfer the message bytes (exact-size copies made
// for the purpose) instead of cloning them.

import type { TransportEndpoint } from './participant-transport.js';
import type { Http2UnaryChannelOptions } from './http2-unary-channel.js';

/** The channel settings the thread's channels are made with (functions cannot cross threads). */
export type ThreadChannelOptions = Omit<Http2UnaryChannelOptions, 'random' | 'connect'>;

export interface ChannelWorkerData {
  readonly options: ThreadChannelOptions;
}

export type ToChannelThread =
  /** A participant's endpoint, by a number that later messages name. */
  | { readonly t: 'endpoint'; readonly ep: number; readonly endpoint: TransportEndpoint }
  | {
      readonly t: 'call';
      readonly id: number;
      readonly ep: number;
      readonly path: string;
      readonly message: Uint8Array;
      readonly deadline: number;
      readonly metadata: Readonly<Record<string, string>> | undefined;
      readonly traceparent: string | undefined;
    }
  | { readonly t: 'cancel'; readonly id: number }
  | { readonly t: 'close'; readonly ep: number };

export interface FromChannelThread {
  readonly id: number;
  readonly code: number;
  readonly details: string;
  readonly message: Uint8Array | undefined;
}
