// One transport per participant, made on first use and reused; the kind
// (lean channel on the event loop or on its own thread, or grpc-js) is chosen
// by the settings.

import { availableParallelism } from 'node:os';
import { ChannelThread } from './channel-thread.js';
import { GrpcJsTransport } from './grpc-js-transport.js';
import { Http2UnaryChannel, type Http2UnaryChannelOptions } from './http2-unary-channel.js';
import type { ParticipantTransport, TransportEndpoint } from './participant-transport.js';
import { channelsOnOwnThread, type ParticipantTransportSettings } from './participant-transport-settings.js';

export class ParticipantTransportPool {
  private readonly transports = new Map<string, ParticipantTransport>();
  /** The channels' thread (thread "worker", or "auto" with two CPUs or more); booted with the pool. */
  private readonly thread: ChannelThread | undefined;
  /** The lean channels' options, from the settings. */
  private readonly channel: Http2UnaryChannelOptions;

  constructor(
    private readonly settings: ParticipantTransportSettings,
    /** Largest response message accepted. */
    private readonly maxReceiveBytes: number,
    /** CPUs this process may use (for thread "auto"). Default os.availableParallelism(). */
    availableCpus: number = availableParallelism(),
  ) {
    const { implementation, thread: _, ...channel } = settings;
    this.channel = { ...channel, maxReceiveBytes, framing: implementation === 'frames' ? 'own' : 'node' };
    if (channelsOnOwnThread(settings, availableCpus)) {
      this.thread = new ChannelThread(this.channel);
      this.thread.warmUp();
    }
  }

  /** The transport of `name`, made from `endpoint()` the first time; undefined when that is. */
  get(name: string, endpoint: () => TransportEndpoint | undefined): ParticipantTransport | undefined {
    let t = this.transports.get(name);
    if (t === undefined) {
      const ep = endpoint();
      if (ep === undefined) return undefined;
      t = this.create(ep);
      this.transports.set(name, t);
    }
    return t;
  }

  /** Whether the channels run on a thread of their own. */
  onOwnThread(): boolean {
    return this.thread !== undefined;
  }

  close(): void {
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
    this.thread?.close();
  }

  private create(endpoint: TransportEndpoint): ParticipantTransport {
    const s = this.settings;
    if (s.implementation === 'grpc-js') return new GrpcJsTransport(endpoint, s, this.maxReceiveBytes);
    if (this.thread !== undefined) return this.thread.transport(endpoint);
    return new Http2UnaryChannel(endpoint, this.channel);
  }
}
