// A lean gRPC unary client over HTTP/2: the transport of every participant
// call, plaintext or TLS. The HTTP/2 session is node:http2's, or with framing
// "own" the coordinator's (h2-frame-session.ts); both serve unary-session.ts.
// Profiles of the coordinator put grpc-js's client at the top: its resolver, load-balancer, retry and filter layers (none of which
// the coordinator uses: it dials one registered address and retries by its own
// policy) cost about twice the CPU of the call itself. This speaks
// gRPC-over-HTTP/2 for unary calls only, with the defences grpc-js has:
// - one connection per endpoint; one whose request() throws is dropped and the
//   call tried once on a new one;
// - a connection is retired after maxStreamsPerConnection streams, long before
//   HTTP/2's client stream ids run out (2^31-1, ~1.07 billion streams);
// - keepalive pings only while calls are in flight (grpc-go servers answer
//   idle pings with GOAWAY too_many_pings); that GOAWAY doubles the interval;
// - a connect timeout (dial until the server's SETTINGS) and capped
//   exponential reconnect backoff with jitter after failed connects;
// - GOAWAY drains: calls on the old connection finish there, new ones dial;
// - a stream the server refused (REFUSED_STREAM, or past a GOAWAY's last
//   stream id) was not processed, so it is retried on a new stream;
// - the deadline sent as grpc-timeout and enforced by a local timer;
//   cancellation; the status from the trailers (or a trailers-only answer, or
//   the HTTP status); a limit on the answer's size;
// - metadata headers and a W3C traceparent.

import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
// grpc-js's status enum from its own module: the package's index loads all of grpc-js, a large part of the channel thread's boot (BENCHMARKS.md, session 11).
import { Status as status } from '@grpc/grpc-js/build/src/constants.js';
import { reconnectDelayMs } from '../engine/backoff.js';
import { addMetadataHeaders } from './metadata-headers.js';
import type { ParticipantTransport, TransportEndpoint, UnaryAnswer, UnaryCallHandle, UnaryRequest } from './participant-transport.js';
import type { ParticipantTransportSettings } from './participant-transport-settings.js';
import { connectFrames } from './h2-frame-session.js';
import type { RequestHeaders, ResponseHeaders, UnarySession, UnaryStream } from './unary-session.js';

/** The transport settings (participant-transport-settings.ts) and what the pool adds. */
export interface Http2UnaryChannelOptions extends Omit<ParticipantTransportSettings, 'implementation' | 'thread'> {
  /** Largest response message accepted (RESOURCE_EXHAUSTED beyond). */
  readonly maxReceiveBytes: number;
  /**
   * Whose HTTP/2: "node" (node:http2, the default) or "own" (the coordinator's
   * framing, h2-frame-session.ts: participantTransport.implementation "frames").
   */
  readonly framing?: 'node' | 'own';
  /** In [0, 1): the reconnect jitter. Default Math.random. */
  readonly random?: () => number;
  /** How a connection is opened; default by `framing` (tests wrap it). */
  readonly connect?: (authority: string, options: http2.SecureClientSessionOptions) => UnarySession;
}

/** What the channel did, for tests and diagnostics. */
export interface Http2UnaryChannelStats {
  /** Connections dialled so far. */
  readonly dials: number;
  /** Keepalive pings sent so far. */
  readonly pings: number;
  /** The keepalive interval now (it doubles on GOAWAY too_many_pings). */
  readonly keepaliveMs: number;
  /** Streams opened on the connection new calls go to (0 when there is none). */
  readonly streamsOnConnection: number;
  /** Whether a keepalive ping is scheduled or awaited on any connection. */
  readonly keepaliveArmed: boolean;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;
const OK: number = status.OK;
/** A stream's 'error' is followed by its 'close', which decides the answer. */
const ignoreStreamError = (): void => undefined;

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** A refused call is tried again at most this many times (each on a new stream). */
const MAX_REFUSALS = 5;

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

interface Dial {
  readonly authority: string;
  readonly options: http2.SecureClientSessionOptions;
}

/** How to reach an endpoint: its URL authority and the session options (TLS, unix socket). */
export function dialOf(endpoint: TransportEndpoint): Dial | string {
  const t = endpoint.tls;
  const secure: tls.ConnectionOptions = t === undefined ? {} : { ca: t.ca, cert: t.cert, key: t.key, ...(t.serverName !== undefined ? { servername: t.serverName } : {}) };
  // No cap on nghttp2's memory for this one connection (as grpc-js): many calls may be in flight.
  const base = { maxSessionMemory: Number.MAX_SAFE_INTEGER, ...secure };
  const scheme = t === undefined ? 'http' : 'https';
  const unix = /^unix:(?:\/\/)?(\/.+)$/.exec(endpoint.address);
  if (unix !== null) {
    const path = unix[1] ?? '';
    const createConnection = t === undefined ? () => net.connect({ path }) : () => tls.connect({ path, ALPNProtocols: ['h2'], ...secure });
    return { authority: `${scheme}://localhost`, options: { ...base, createConnection } };
  }
  const hostPort = /^(?:dns:(?:\/\/[^/]*\/)?)?((?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})$/.exec(endpoint.address);
  if (hostPort === null) return `"${endpoint.address}" is not host:port, dns:host:port or unix:/path`;
  return { authority: `${scheme}://${hostPort[1] ?? ''}`, options: base };
}

/** One HTTP/2 connection and what the channel tracks about it. */
class Connection {
  /** The server's SETTINGS arrived. */
  ready = false;
  /** Streams opened on it. */
  streams = 0;
  /** Streams open now. */
  active = 0;
  /** No new streams: closed once the last one ends. */
  retired = false;
  /** Why it failed, for the calls that were on it. */
  failure: string | undefined;
  /** Streams above this id were not processed (GOAWAY). */
  goawayLastStreamId: number | undefined;
  keepaliveTimer: NodeJS.Timeout | undefined;
  pingInFlight = false;
  connectTimer: NodeJS.Timeout | undefined;
  ended = false;
  /** Calls waiting for the server's SETTINGS. */
  waiting: { start(): void; fail(details: string): void }[] = [];

  constructor(readonly session: UnarySession) {}

  usable(): boolean {
    return !this.retired && !this.session.closed && !this.session.destroyed && this.goawayLastStreamId === undefined;
  }
}

export class Http2UnaryChannel implements ParticipantTransport {
  private current: Connection | undefined;
  private readonly connections = new Set<Connection>();
  private closed = false;
  /** Failed connects in a row, and when the next dial may happen. */
  private failures = 0;
  private retryAt = 0;
  private lastFailure = '';
  private keepaliveMs: number;
  private dials = 0;
  private pings = 0;
  private readonly dial: Dial | string;
  private readonly connect: (authority: string, options: http2.SecureClientSessionOptions) => UnarySession;
  private readonly random: () => number;

  constructor(
    endpoint: TransportEndpoint,
    private readonly options: Http2UnaryChannelOptions,
  ) {
    this.dial = dialOf(endpoint);
    this.keepaliveMs = options.keepaliveMs;
    this.connect = options.connect ?? (options.framing === 'own' ? connectFrames : (authority, o) => http2.connect(authority, o));
    this.random = options.random ?? Math.random;
  }

  stats(): Http2UnaryChannelStats {
    return {
      dials: this.dials,
      pings: this.pings,
      keepaliveMs: this.keepaliveMs,
      streamsOnConnection: this.current?.streams ?? 0,
      keepaliveArmed: [...this.connections].some((c) => c.keepaliveTimer !== undefined || c.pingInFlight),
    };
  }

  unary(request: UnaryRequest, done: (answer: UnaryAnswer) => void): UnaryCallHandle {
    const { deadline } = request;
    const timeoutMs = Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - Date.now())));
    const headers: RequestHeaders = {
      ':method': 'POST',
      ':path': request.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      // At most 8 digits (PROTOCOL-HTTP2.md).
      'grpc-timeout': timeoutMs <= 99_999_999 ? `${timeoutMs}m` : `${Math.ceil(timeoutMs / 1000)}S`,
      'user-agent': 'saga-coordinator',
    };
    addMetadataHeaders(headers, request.metadata, this.options.maxMetadataHeaderBytes);
    if (request.traceparent !== undefined) headers.traceparent = request.traceparent;
    const body = Buffer.allocUnsafe(5 + request.message.length);
    body[0] = 0;
    body.writeUInt32BE(request.message.length, 1);
    body.set(request.message, 5);

    let starting = true;
    let finished = false;
    let stream: UnaryStream | undefined;
    let refusals = 0;
    const finish = (answer: UnaryAnswer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (starting) process.nextTick(() => done(answer));
      else done(answer);
    };
    const timer = setTimeout(() => {
      stream?.close(NGHTTP2_CANCEL);
      finish({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    }, timeoutMs);

    const open = (retryOnThrow: boolean): void => {
      const conn = this.connection();
      if (typeof conn === 'string') finish({ code: status.UNAVAILABLE, details: conn });
      // Streams wait for the server's SETTINGS (as in grpc-js), so that its
      // concurrency limit is known and never overrun before it arrives.
      else if (!conn.ready) conn.waiting.push({ start: () => (conn.usable() ? startOn(conn, retryOnThrow) : open(retryOnThrow)), fail: (details) => finish({ code: status.UNAVAILABLE, details }) });
      else startOn(conn, retryOnThrow);
    };
    const startOn = (conn: Connection, retryOnThrow: boolean): void => {
      if (finished) return;
      let s: UnaryStream;
      try {
        s = conn.session.request(headers, { endStream: false });
      } catch (err) {
        // The session is broken (grpc-js drops it too): never reuse it.
        this.fail(conn, `request() failed: ${(err as Error).message}`);
        if (retryOnThrow) open(false);
        else finish({ code: status.UNAVAILABLE, details: `cannot start the call: ${(err as Error).message}` });
        return;
      }
      stream = s;
      this.streamOpened(conn);
      let httpStatus = 0;
      let grpcStatus: number | undefined;
      let grpcMessage = '';
      let received: Buffer | undefined;
      let parts: Buffer[] | undefined;
      let size = 0;
      const readStatus = (h: ResponseHeaders): void => {
        const code = h['grpc-status'];
        if (code !== undefined) {
          grpcStatus = Number(code);
          grpcMessage = decodeGrpcMessage(h['grpc-message']);
        }
      };
      const onResponse = (h: ResponseHeaders): void => {
        httpStatus = Number(h[':status']);
        readStatus(h); // a trailers-only answer
      };
      const onData = (chunk: Buffer): void => {
        size += chunk.length;
        if (size > this.options.maxReceiveBytes + 5) {
          s.close(NGHTTP2_CANCEL);
          finish({ code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${size - 5} vs. ${this.options.maxReceiveBytes})` });
          return;
        }
        if (received === undefined) received = chunk;
        else (parts ??= [received]).push(chunk);
      };
      const onClose = (): void => {
        // A closed stream outlives the scavenges until a full GC (measured;
        // node:http2's per-session stream Map is one holder, BENCHMARKS.md
        // "Session 8"): it must not keep this call's state too.
        s.off('response', onResponse).off('trailers', readStatus).off('data', onData).off('close', onClose);
        this.streamClosed(conn);
        if (finished) return;
        if (grpcStatus === undefined) {
          if (httpStatus !== 0 && httpStatus !== 200) {
            finish({ code: fromHttpStatus(httpStatus), details: `HTTP status ${httpStatus}` });
            return;
          }
          // Not processed by the server: safe to send again, on a new stream.
          const refused =
            httpStatus === 0 &&
            (s.rstCode === NGHTTP2_REFUSED_STREAM || (conn.goawayLastStreamId !== undefined && s.id !== undefined && s.id > conn.goawayLastStreamId));
          if (refused && refusals < MAX_REFUSALS && Date.now() < deadline && !this.closed) {
            refusals++;
            open(true);
            return;
          }
          // Past the deadline, a reset is the server giving up at the propagated
          // deadline before our (busy) timer ran: report it as the deadline, as grpc-js does.
          if (Date.now() >= deadline) finish({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
          else if (conn.failure !== undefined) finish({ code: status.UNAVAILABLE, details: `connection failed: ${conn.failure}` });
          // As grpc-js maps it: the server's overload protection, not a refusal (it may have started).
          else if (s.rstCode === NGHTTP2_ENHANCE_YOUR_CALM) finish({ code: status.RESOURCE_EXHAUSTED, details: 'the server reset the call (ENHANCE_YOUR_CALM): overloaded or too many streams' });
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
      };
      s.on('response', onResponse);
      s.on('trailers', readStatus);
      s.on('data', onData);
      s.on('error', ignoreStreamError); // 'close' follows and decides
      s.on('close', onClose);
      s.end(body);
    };

    if (this.closed) finish({ code: status.UNAVAILABLE, details: 'the channel is closed' });
    else open(true);
    starting = false;
    return {
      cancel: () => {
        stream?.close(NGHTTP2_CANCEL);
        finish({ code: status.CANCELLED, details: 'Cancelled on client' });
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const c of this.connections) {
      this.stopKeepalive(c);
      clearTimeout(c.connectTimer);
      c.session.close();
    }
    this.current = undefined;
  }

  /** The connection for a new stream, dialled if needed; a string says why there is none. */
  private connection(): Connection | string {
    const c = this.current;
    if (c !== undefined && c.usable()) return c;
    this.current = undefined;
    if (typeof this.dial === 'string') return this.dial;
    const wait = this.retryAt - Date.now();
    if (this.failures > 0 && wait > 0) return `not connected (${this.lastFailure}); next connect attempt in ${wait} ms`;
    this.dials++;
    const session = this.connect(this.dial.authority, this.dial.options);
    // Calls in flight hold the process up with their deadline timers; the connection does not.
    session.unref();
    const conn = new Connection(session);
    this.connections.add(conn);
    conn.connectTimer = setTimeout(
      () => this.fail(conn, `no HTTP/2 settings from the server within ${this.options.connectTimeoutMs} ms (connect timeout)`),
      this.options.connectTimeoutMs,
    );
    conn.connectTimer.unref();
    session.once('remoteSettings', () => {
      conn.ready = true;
      clearTimeout(conn.connectTimer);
      this.failures = 0;
      for (const w of conn.waiting.splice(0)) w.start();
    });
    // Connection errors reach every stream on it (they end UNAVAILABLE); the next call re-dials.
    session.on('error', (err: Error) => {
      conn.failure ??= err.message;
    });
    session.on('goaway', (code: number, lastStreamID: number, data?: Buffer) => {
      conn.goawayLastStreamId = lastStreamID;
      if (this.current === conn) this.current = undefined;
      // The protocol's own signal (grpc-go, grpc-js): the server wants fewer pings.
      if (code === NGHTTP2_ENHANCE_YOUR_CALM && data?.toString('latin1') === 'too_many_pings' && this.keepaliveMs > 0) {
        this.keepaliveMs = Math.min(this.keepaliveMs * 2, MAX_TIMER_MS);
      }
      if (code !== 0) conn.failure ??= `GOAWAY with HTTP/2 code ${code}${data !== undefined && data.length > 0 ? ` (${data.toString('latin1')})` : ''}`;
    });
    session.on('close', () => this.ended(conn));
    this.current = conn;
    return conn;
  }

  /** Ends a connection for good; its calls end UNAVAILABLE with `reason`. */
  private fail(conn: Connection, reason: string): void {
    conn.failure ??= reason;
    if (this.current === conn) this.current = undefined;
    conn.session.destroy();
    // node:http2 does not always emit 'close' (a TLS alert after the handshake destroys the session silently).
    this.ended(conn);
  }

  /** The connection is gone (once per connection); a connect that never completed counts toward the backoff. */
  private ended(conn: Connection): void {
    if (conn.ended) return;
    conn.ended = true;
    clearTimeout(conn.connectTimer);
    this.stopKeepalive(conn);
    this.connections.delete(conn);
    if (this.current === conn) this.current = undefined;
    if (conn.ready) return;
    this.failures++;
    this.lastFailure = conn.failure ?? 'the connection closed before the server sent its settings';
    this.retryAt = Date.now() + reconnectDelayMs(
      { initialBackoffMs: this.options.initialReconnectBackoffMs, maxBackoffMs: this.options.maxReconnectBackoffMs },
      this.failures,
      this.random,
    );
    for (const w of conn.waiting.splice(0)) w.fail(`connection failed: ${this.lastFailure}`);
  }

  private streamOpened(conn: Connection): void {
    conn.streams++;
    conn.active++;
    if (conn.active === 1) this.armKeepalive(conn);
    if (conn.streams >= this.options.maxStreamsPerConnection) {
      conn.retired = true;
      if (this.current === conn) this.current = undefined;
    }
  }

  private streamClosed(conn: Connection): void {
    conn.active--;
    if (conn.active > 0) return;
    this.stopKeepalive(conn);
    if (conn.retired && !conn.session.closed) conn.session.close();
  }

  private armKeepalive(conn: Connection): void {
    if (this.keepaliveMs <= 0 || conn.keepaliveTimer !== undefined || conn.pingInFlight) return;
    conn.keepaliveTimer = setTimeout(() => this.ping(conn), this.keepaliveMs);
    conn.keepaliveTimer.unref();
  }

  private stopKeepalive(conn: Connection): void {
    clearTimeout(conn.keepaliveTimer);
    conn.keepaliveTimer = undefined;
  }

  private ping(conn: Connection): void {
    conn.keepaliveTimer = undefined;
    const session = conn.session;
    if (conn.active === 0 || session.closed || session.destroyed) return;
    const timeout = setTimeout(() => this.fail(conn, `keepalive ping unanswered within ${this.options.keepaliveTimeoutMs} ms`), this.options.keepaliveTimeoutMs);
    timeout.unref();
    conn.pingInFlight = session.ping((err) => {
      conn.pingInFlight = false;
      clearTimeout(timeout);
      if (err) {
        if (!session.closed && !session.destroyed) this.fail(conn, `keepalive ping failed: ${err.message}`);
        return;
      }
      if (conn.active > 0) this.armKeepalive(conn);
    });
    if (conn.pingInFlight) this.pings++;
    else clearTimeout(timeout);
  }
}
