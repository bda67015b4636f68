// grpc-js's client as a ParticipantTransport, tuned like the lean channel
// (channelz off, no retries, the same keepalive and reconnect backoff): the
// "B" of the transport A/B bench (participantTransport.implementation "grpc-js").

import { Client, credentials, Metadata, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import type { OutgoingHttpHeaders } from 'node:http2';
import { addMetadataHeaders } from './metadata-headers.js';
import type { ParticipantTransport, TransportEndpoint, UnaryAnswer, UnaryCallHandle, UnaryRequest } from './participant-transport.js';
import type { ParticipantTransportSettings } from './participant-transport-settings.js';

const passThrough = (b: Buffer): Buffer => b;

export class GrpcJsTransport implements ParticipantTransport {
  private readonly client: Client;

  constructor(
    endpoint: TransportEndpoint,
    private readonly settings: ParticipantTransportSettings,
    maxReceiveBytes: number,
  ) {
    const t = endpoint.tls;
    const options: ChannelOptions = {
      'grpc.enable_channelz': 0,
      'grpc.enable_retries': 0,
      'grpc.max_receive_message_length': maxReceiveBytes,
      'grpc.keepalive_time_ms': settings.keepaliveMs > 0 ? settings.keepaliveMs : 2 ** 31 - 1,
      'grpc.keepalive_timeout_ms': settings.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 0,
      'grpc.initial_reconnect_backoff_ms': settings.initialReconnectBackoffMs,
      'grpc.max_reconnect_backoff_ms': settings.maxReconnectBackoffMs,
      ...(t?.serverName !== undefined ? { 'grpc.ssl_target_name_override': t.serverName } : {}),
    };
    const creds = t === undefined ? credentials.createInsecure() : credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null);
    this.client = new Client(endpoint.address, creds, options);
  }

  unary(request: UnaryRequest, done: (answer: UnaryAnswer) => void): UnaryCallHandle {
    const headers: OutgoingHttpHeaders = {};
    addMetadataHeaders(headers, request.metadata, this.settings.maxMetadataHeaderBytes);
    if (request.traceparent !== undefined) headers.traceparent = request.traceparent;
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) {
      if (typeof v === 'string') metadata.set(k, k.endsWith('-bin') ? Buffer.from(v, 'base64') : v);
    }
    return this.client.makeUnaryRequest(
      request.path,
      passThrough,
      passThrough,
      // A copy: grpc-js may serialize after this returns, and callers reuse their encode buffer.
      Buffer.from(request.message),
      metadata,
      { deadline: request.deadline },
      (err: ServiceError | null, res?: Buffer) => {
        if (err) done({ code: err.code, details: err.details || err.message });
        else done({ code: 0, details: '', message: res });
      },
    );
  }

  close(): void {
    this.client.close();
  }
}
