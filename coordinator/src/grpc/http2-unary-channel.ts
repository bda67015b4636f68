// A lean gRPC unary client over node:http2, for participant calls to plaintext
// endpoints (the embedded default: loopback or a service mesh). Profiles of the
// coordinator put grpc-js's client at the top: its resolver, load-balancer,
// retry and filter layers (none of which the coordinator uses: it dials one
// registered address and retries by its own policy) cost about twice the CPU
// of the call itself and keep ~20 KB per call in flight. This speaks the
// gRPC-over-HTTP/2 protocol for unary calls only: one connection per endpoint,
// re-dialled on demand; the deadline sent as grpc-timeout and enforced by a
// local timer; cancellation; keepalive pings; the status from the trailers (or
// a trailers-only answer, or the HTTP status); a limit on the answer's size.
// Endpoints with TLS keep grpc-js (see GrpcParticipantInvoker).

import http2 from 'node:http2';
import { status } from '@grpc/grpc-js';

export interface UnaryAnswer {
  /** gRPC status code; 0 = OK, then `message` holds the response message. */
  readonly code: number;
  readonly details: string;
  readonly message?: Buffer;
}

export interface Http2UnaryChannelOptions {
  /** Largest response message accepted (RESOURCE_EXHAUSTED beyond). */
  readonly maxReceiveBytes: number;
  /** Ping an idle-looking connection this often; 0 = never. */
  readonly keepaliveMs: number;
  /** A ping unanswered this long closes the connection. */
  readonly keepaliveTimeoutMs: number;
}

export interface UnaryCallHandle {
  cancel(): void;
}

const { NGHTTP2_CANCEL } = http2.constants;
const OK: number = status.OK;
/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** gRPC's mapping of HTTP status codes when no grpc-status came (PROTOCOL-HTTP2.md). */
function fromHttpStatus(httpStatus: number): number {
  switch (httpStatus) {
    case 400:
      return status.INTERNAL;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

function decodeGrpcMessage(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export class Http2UnaryChannel {
  private session: http2.ClientHttp2Session | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    /** host:port */
    private readonly address: string,
    private readonly options: Http2UnaryChannelOptions,
  ) {}

  /** Sends one request message (with a W3C `traceparent` header when given); `done` is called exactly once, never before this returns. */
  call(path: string, request: Uint8Array, deadline: number, done: (answer: UnaryAnswer) => void, traceparent?: string): UnaryCallHandle {
    const timeoutMs = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - Date.now())));
    const body = Buffer.allocUnsafe(5 + request.length);
    body[0] = 0;
    body.writeUInt32BE(request.length, 1);
    body.set(request, 5);
    let s: http2.ClientHttp2Stream;
    try {
      if (this.closed) throw new Error('the channel is closed');
      s = this.connection().request(
        {
          ':method': 'POST',
          ':path': path,
          'content-type': 'application/grpc',
          te: 'trailers',
          // At most 8 digits (PROTOCOL-HTTP2.md).
          'grpc-timeout': timeoutMs <= 99_999_999 ? `${timeoutMs}m` : `${Math.ceil(timeoutMs / 1000)}S`,
          'user-agent': 'saga-coordinator',
          ...(traceparent !== undefined ? { traceparent } : {}),
        },
        { endStream: false },
      );
    } catch (err) {
      const details = `cannot start the call: ${(err as Error).message}`;
      process.nextTick(() => done({ code: status.UNAVAILABLE, details }));
      return { cancel: () => undefined };
    }
    let finished = false;
    const finish = (answer: UnaryAnswer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(answer);
    };
    const timer = setTimeout(() => {
      s.close(NGHTTP2_CANCEL);
      finish({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    }, timeoutMs);
    let httpStatus = 0;
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    let received: Buffer | undefined;
    let parts: Buffer[] | undefined;
    let size = 0;
    const readStatus = (headers: http2.IncomingHttpHeaders): void => {
      const code = headers['grpc-status'];
      if (code !== undefined) {
        grpcStatus = Number(code);
        grpcMessage = decodeGrpcMessage(headers['grpc-message']);
      }
    };
    s.on('response', (headers) => {
      httpStatus = Number(headers[':status']);
      readStatus(headers); // a trailers-only answer
    });
    s.on('trailers', readStatus);
    s.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.options.maxReceiveBytes + 5) {
        s.close(NGHTTP2_CANCEL);
        finish({ code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${size - 5} vs. ${this.options.maxReceiveBytes})` });
        return;
      }
      if (received === undefined) received = chunk;
      else (parts ??= [received]).push(chunk);
    });
    s.on('error', () => undefined); // 'close' follows and decides
    s.on('close', () => {
      if (finished) return;
      if (grpcStatus === undefined) {
        if (httpStatus !== 0 && httpStatus !== 200) finish({ code: fromHttpStatus(httpStatus), details: `HTTP status ${httpStatus}` });
        // Past the deadline, a reset is the server giving up at the propagated
        // deadline before our (busy) timer ran: report it as the deadline, as grpc-js does.
        else if (Date.now() >= deadline) finish({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
        else finish({ code: status.UNAVAILABLE, details: `the call ended without a status (HTTP/2 code ${s.rstCode ?? 0})` });
        return;
      }
      if (grpcStatus !== OK) {
        finish({ code: grpcStatus, details: grpcMessage });
        return;
      }
      const all = parts !== undefined ? Buffer.concat(parts) : received;
      if (all === undefined || all.length < 5) {
        finish({ code: status.INTERNAL, details: 'no response message received' });
        return;
      }
      if (all[0] !== 0) {
        finish({ code: status.INTERNAL, details: 'compressed response message (compression was not offered)' });
        return;
      }
      const length = all.readUInt32BE(1);
      if (all.length !== 5 + length) {
        finish({ code: status.INTERNAL, details: 'malformed response: not exactly one message' });
        return;
      }
      finish({ code: OK, details: '', message: all.subarray(5) });
    });
    s.end(body);
    return {
      cancel: () => {
        s.close(NGHTTP2_CANCEL);
        finish({ code: status.CANCELLED, details: 'Cancelled on client' });
      },
    };
  }

  close(): void {
    this.closed = true;
    clearInterval(this.keepalive);
    this.session?.close();
    this.session = undefined;
  }

  private connection(): http2.ClientHttp2Session {
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    // No cap on nghttp2's memory for this one connection (as grpc-js): many calls may be in flight.
    const session = http2.connect(`http://${this.address}`, { maxSessionMemory: Number.MAX_SAFE_INTEGER });
    // Calls in flight hold the process up with their deadline timers; the connection does not.
    session.unref();
    const drop = (): void => {
      if (this.session === session) {
        this.session = undefined;
        clearInterval(this.keepalive);
      }
    };
    // Connection errors reach every stream on it (they end UNAVAILABLE); the next call re-dials.
    session.on('error', drop);
    session.on('goaway', drop);
    session.on('close', drop);
    this.session = session;
    if (this.options.keepaliveMs > 0) {
      clearInterval(this.keepalive);
      this.keepalive = setInterval(() => {
        if (session.destroyed || session.closed) return;
        const timer = setTimeout(() => session.destroy(), this.options.keepaliveTimeoutMs);
        timer.unref();
        const sent = session.ping((err) => {
          clearTimeout(timer);
          if (err) session.destroy();
        });
        if (!sent) clearTimeout(timer);
      }, this.options.keepaliveMs);
      this.keepalive.unref();
    }
    return session;
  }
}
