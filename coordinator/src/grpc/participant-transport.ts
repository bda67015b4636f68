// The coordinator's one way of calling a participant (Execute, Compensate, Try, Confirm, Cancel,
// CheckTransaction): a unary gRPC call to one endpoint, plaintext or TLS. The
// invokers encode and decode messages; a transport moves bytes, headers and
// deadlines. The lean HTTP/2 channel implements it (http2-unary-channel.ts);
// grpc-js does too (grpc-js-transport.ts), kept for the A/B bench.

export interface UnaryRequest {
  /** "/package.Service/Method" */
  readonly path: string;
  /** The serialized request message (without the gRPC frame header). */
  readonly message: Uint8Array;
  /** Epoch ms: sent as grpc-timeout and enforced locally. */
  readonly deadline: number;
  /** Sent as gRPC metadata headers (entries that cannot be headers are left out, see README). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * W3C trace context of this call, sent as the `traceparent` header. The
   * invokers fill it (traceparent.ts); an OpenTelemetry integration passes the
   * active span's context here instead.
   */
  readonly traceparent?: string;
}

export interface UnaryAnswer {
  /** gRPC status code; 0 = OK, then `message` holds the response message. */
  readonly code: number;
  readonly details: string;
  readonly message?: Buffer;
}

export interface UnaryCallHandle {
  cancel(): void;
}

export interface ParticipantTransport {
  /** Sends one request; `done` is called exactly once, never before this returns. */
  unary(request: UnaryRequest, done: (answer: UnaryAnswer) => void): UnaryCallHandle;
  /** Closes the connections; later calls answer UNAVAILABLE. */
  close(): void;
}

/** TLS of one participant, as loaded from the files its registration names. */
export interface TransportTls {
  /** CA certificates (PEM) trusted for the participant; absent = the system's roots. */
  readonly ca?: Buffer;
  /** Client certificate and key (PEM) for mTLS. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Name checked against the participant's certificate; default the address's host. */
  readonly serverName?: string;
}

/** Where a transport dials. */
export interface TransportEndpoint {
  /** host:port, [v6]:port, dns:[///]host:port, or unix:/path */
  readonly address: string;
  /** Absent = plaintext. */
  readonly tls?: TransportTls;
}
