// An HTTP/2 client session of the coordinator's own (participantTransport
// implementation "frames"): the frames (RFC 9113) written and read on a plain
// TCP, TLS or unix socket, for the unary calls of http2-unary-channel.ts.
//
// Why: node:http2 is most of the participant channel thread's CPU (a Duplex
// stream, a headers object and a C++/JS round trip per call, BENCHMARKS.md
// "Session 12"), and its streams outlive the scavenges. This does what a
// unary gRPC client needs and nothing else:
// - the preface and SETTINGS (no push, HPACK table 0 so answers decode
//   statelessly, a 4 MiB stream window), SETTINGS ACK, PING and its ACK;
// - HEADERS (with CONTINUATION, padding, priority), DATA (padding), RST_STREAM,
//   GOAWAY (streams past its last id end REFUSED_STREAM, as nghttp2 reports);
// - flow control both ways: our DATA waits for the peer's windows, theirs is
//   replenished as it is consumed;
// - the peer's MAX_CONCURRENT_STREAMS and MAX_FRAME_SIZE; streams beyond the
//   limit wait, in order;
// - the frames of one event-loop turn go out in one write.
// A malformed frame or header block is a connection error: GOAWAY, and the
// session ends with an error, as node:http2 does; the channel above answers
// the calls on it UNAVAILABLE.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { encodedLength, encodeHeaders, HpackDecoder, HpackError } from './hpack.js';
import type { RequestHeaders, ResponseHeaders, UnarySession, UnaryStream } from './unary-session.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

const H2_NO_ERROR = 0x0;
const H2_PROTOCOL_ERROR = 0x1;
const FLOW_CONTROL_ERROR = 0x3;
const FRAME_SIZE_ERROR = 0x6;
const H2_REFUSED_STREAM = 0x7;
const H2_CANCEL = 0x8;
const COMPRESSION_ERROR = 0x9;

/** The largest frame we accept (the protocol's default; we announce no other). */
const OUR_MAX_FRAME = 16_384;
/** Our receive window per stream (announced) and for the connection (opened at the start). */
const STREAM_WINDOW = 4 * 1024 * 1024;
const CONNECTION_WINDOW = 2 ** 30;
/** A header block larger than this (over CONTINUATION frames) is refused: a connection error. */
const MAX_HEADER_BLOCK = 256 * 1024;
const MAX_WINDOW = 2 ** 31 - 1;

function frameHeader(out: Buffer, pos: number, length: number, type: number, flags: number, streamId: number): number {
  out[pos] = (length >>> 16) & 0xff;
  out[pos + 1] = (length >>> 8) & 0xff;
  out[pos + 2] = length & 0xff;
  out[pos + 3] = type;
  out[pos + 4] = flags;
  out.writeUInt32BE(streamId, pos + 5);
  return pos + 9;
}

function frame(type: number, flags: number, streamId: number, payload?: Buffer): Buffer {
  const length = payload?.length ?? 0;
  const out = Buffer.allocUnsafe(9 + length);
  frameHeader(out, 0, length, type, flags, streamId);
  payload?.copy(out, 9);
  return out;
}

/** RST_STREAM and WINDOW_UPDATE: one 32-bit value. */
function uint32Frame(type: number, streamId: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  frameHeader(out, 0, 4, type, 0, streamId);
  out.writeUInt32BE(value, 9);
  return out;
}

/** GOAWAY: last stream id 0 (we process no server-initiated streams), the code, a reason. */
function goawayFrame(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(8 + Buffer.byteLength(reason, 'latin1'));
  payload.writeUInt32BE(code, 4);
  payload.write(reason, 8, 'latin1');
  return frame(GOAWAY, 0, 0, payload);
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

type HeadersListener = (headers: ResponseHeaders) => void;

/** One request's stream. Listeners: one per event (the channel sets one each). */
class FrameStream implements UnaryStream {
  id: number | undefined;
  rstCode: number | undefined;
  /** Our side: the body not yet sent (flow control), and whether it all went. */
  pendingBody: Buffer | undefined;
  bodyGiven = false;
  localEnded = false;
  remoteEnded = false;
  responded = false;
  closed = false;
  sendWindow = 0;
  /** Received DATA not yet given back to the peer with WINDOW_UPDATE. */
  unacknowledged = 0;
  private onResponse: HeadersListener | undefined;
  private onTrailers: HeadersListener | undefined;
  private onData: ((chunk: Buffer) => void) | undefined;
  private onClose: (() => void) | undefined;

  constructor(
    private readonly session: H2FrameSession,
    readonly headers: RequestHeaders,
  ) {}

  on(event: 'response' | 'trailers', listener: HeadersListener): this;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  on(event: string, listener: (...args: never[]) => void): this {
    if (event === 'response') this.onResponse = listener as HeadersListener;
    else if (event === 'trailers') this.onTrailers = listener as HeadersListener;
    else if (event === 'data') this.onData = listener as (chunk: Buffer) => void;
    else if (event === 'close') this.onClose = listener;
    // 'error': streams end with 'close' and rstCode only.
    return this;
  }

  off(event: 'response' | 'trailers', listener: HeadersListener): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'close', listener: () => void): this;
  off(event: string, listener: unknown): this {
    if (event === 'response' && this.onResponse === listener) this.onResponse = undefined;
    else if (event === 'trailers' && this.onTrailers === listener) this.onTrailers = undefined;
    else if (event === 'data' && this.onData === listener) this.onData = undefined;
    else if (event === 'close' && this.onClose === listener) this.onClose = undefined;
    return this;
  }

  end(body: Buffer): void {
    if (this.bodyGiven) return;
    this.bodyGiven = true;
    this.pendingBody = body;
    this.session.sendBody(this);
  }

  close(code: number): void {
    this.session.resetStream(this, code);
  }

  emitHeaders(headers: ResponseHeaders): void {
    if (!this.responded) {
      this.responded = true;
      this.onResponse?.(headers);
    } else this.onTrailers?.(headers);
  }

  emitData(chunk: Buffer): void {
    this.onData?.(chunk);
  }

  emitClose(): void {
    const listener = this.onClose;
    this.onClose = undefined;
    listener?.();
  }
}

/** How the session reaches its server. */
export interface FrameSessionTarget extends Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key' | 'servername'> {
  /** "http://host:port" or "https://host:port" (the authority the channel builds). */
  readonly authority: string;
  /** A socket of its own (unix sockets); default a TCP or TLS connection to the authority. */
  readonly createConnection?: ((authority: URL, options: object) => Duplex) | undefined;
}

export class H2FrameSession extends EventEmitter implements UnarySession {
  closed = false;
  destroyed = false;
  private readonly socket: Duplex;
  private readonly scheme: string;
  private readonly host: string;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, FrameStream>();
  /** Requests waiting for a stream slot (MAX_CONCURRENT_STREAMS), in order. */
  private readonly queued: FrameStream[] = [];
  /** Streams whose body waits for window. */
  private readonly blocked = new Set<FrameStream>();
  private nextStreamId = 1;
  private active = 0;
  private maxConcurrent = Number.POSITIVE_INFINITY;
  private peerInitialWindow = 65_535;
  private peerMaxFrame = 16_384;
  private connectionSendWindow = 65_535;
  private connectionUnacknowledged = 0;
  private settingsSeen = false;
  private readonly pings = new Map<bigint, (err: Error | null) => void>();
  private pingCounter = 0n;
  private out: Buffer[] = [];
  private flushQueued = false;
  /** Bytes read but not yet a whole frame. */
  private pending: Buffer | undefined;
  /** A header block being assembled from HEADERS + CONTINUATION. */
  private assembling: { streamId: number; endStream: boolean; parts: Buffer[]; bytes: number } | undefined;

  constructor(target: FrameSessionTarget) {
    super();
    const url = new URL(target.authority);
    this.scheme = url.protocol === 'https:' ? 'https' : 'http';
    this.host = url.host;
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = Number(url.port || (this.scheme === 'https' ? 443 : 80));
    let socket: Duplex;
    if (target.createConnection !== undefined) socket = target.createConnection(url, {});
    else if (this.scheme === 'https') {
      socket = tls.connect({
        host: hostname,
        port,
        ALPNProtocols: ['h2'],
        ca: target.ca,
        cert: target.cert,
        key: target.key,
        servername: target.servername ?? (net.isIP(hostname) === 0 ? hostname : undefined),
      });
    } else socket = net.connect({ host: hostname, port });
    // As node:http2 does for every session: without TCP_NODELAY, a small frame
    // written while an earlier one is unacknowledged waits for the peer's delayed
    // ACK, 40 ms on Linux, which a grpc-go or grpcio server only sends that late.
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    this.socket = socket;
    const onOpen = (): void => {
      if (socket instanceof tls.TLSSocket && socket.alpnProtocol !== 'h2') {
        this.fail(new Error(`the server did not agree to HTTP/2 over TLS (ALPN: ${String(socket.alpnProtocol)})`));
        return;
      }
      this.start();
    };
    if (socket instanceof tls.TLSSocket) socket.once('secureConnect', onOpen);
    else if ((socket as net.Socket).connecting === false) process.nextTick(onOpen);
    else socket.once('connect', onOpen);
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', (err: Error) => this.fail(err));
    socket.on('close', () => this.fail(undefined));
    socket.on('end', () => this.fail(undefined));
  }

  request(headers: RequestHeaders, _options: { endStream: false }): UnaryStream {
    if (this.closed || this.destroyed) throw new Error('the HTTP/2 session is closed');
    const stream = new FrameStream(this, headers);
    this.active++;
    if (this.queued.length > 0 || this.streams.size >= this.maxConcurrent) this.queued.push(stream);
    else this.open(stream);
    return stream;
  }

  ping(callback: (err: Error | null) => void): boolean {
    if (this.closed || this.destroyed) return false;
    const payload = Buffer.allocUnsafe(8);
    const n = this.pingCounter++;
    payload.writeBigUInt64BE(n);
    this.pings.set(n, callback);
    this.queue(frame(PING, 0, 0, payload));
    return true;
  }

  unref(): void {
    (this.socket as net.Socket).unref?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.endIfIdle();
  }

  destroy(): void {
    this.fail(undefined);
  }

  // ---- sending

  /** Sends `stream`'s HEADERS now: its id is the next one, in order. */
  private open(stream: FrameStream): void {
    if (this.nextStreamId > MAX_WINDOW) {
      // Out of stream ids (the channel retires connections long before).
      stream.rstCode = H2_REFUSED_STREAM;
      this.finishStream(stream);
      return;
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.id = id;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(id, stream);
    const fields: [string, string][] = [
      [':method', stream.headers[':method'] ?? 'POST'],
      [':scheme', this.scheme],
      [':path', stream.headers[':path'] ?? '/'],
      [':authority', this.host],
    ];
    for (const name in stream.headers) {
      if (name.charCodeAt(0) === 58 /* ':' */) continue;
      const value = stream.headers[name];
      if (value !== undefined) fields.push([name, value]);
    }
    const blockLength = encodedLength(fields);
    if (blockLength <= this.peerMaxFrame) {
      const out = Buffer.allocUnsafe(9 + blockLength);
      encodeHeaders(fields, out, frameHeader(out, 0, blockLength, HEADERS, END_HEADERS, id));
      this.queue(out);
    } else {
      const block = Buffer.allocUnsafe(blockLength);
      encodeHeaders(fields, block, 0);
      for (let at = 0; at < blockLength; at += this.peerMaxFrame) {
        const part = block.subarray(at, Math.min(blockLength, at + this.peerMaxFrame));
        const last = at + this.peerMaxFrame >= blockLength;
        this.queue(frame(at === 0 ? HEADERS : CONTINUATION, last ? END_HEADERS : 0, id, part));
      }
    }
    if (stream.bodyGiven) this.sendBody(stream);
  }

  /** Sends as much of `stream`'s body as the windows allow; the last frame ends our side. */
  sendBody(stream: FrameStream): void {
    if (stream.id === undefined || stream.closed || stream.localEnded) return;
    let body = stream.pendingBody;
    if (body === undefined) return;
    while (true) {
      const room = Math.min(stream.sendWindow, this.connectionSendWindow, this.peerMaxFrame);
      if (body.length > 0 && room <= 0) {
        stream.pendingBody = body;
        this.blocked.add(stream);
        return;
      }
      const n = Math.min(body.length, room);
      const last = n === body.length;
      const out = Buffer.allocUnsafe(9 + n);
      frameHeader(out, 0, n, DATA, last ? END_STREAM : 0, stream.id);
      body.copy(out, 9, 0, n);
      this.queue(out);
      stream.sendWindow -= n;
      this.connectionSendWindow -= n;
      if (last) {
        stream.pendingBody = undefined;
        stream.localEnded = true;
        this.blocked.delete(stream);
        if (stream.remoteEnded) this.finishStream(stream);
        return;
      }
      body = body.subarray(n);
    }
  }

  resetStream(stream: FrameStream, code: number): void {
    if (stream.closed) return;
    if (stream.id !== undefined) this.queue(uint32Frame(RST_STREAM, stream.id, code));
    stream.rstCode = code;
    // 'close' after the caller's own bookkeeping, as node:http2 does.
    this.finishStream(stream, true);
  }

  private queue(buf: Buffer): void {
    if (this.destroyed) return;
    this.out.push(buf);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const out = this.out;
    this.out = [];
    if (this.destroyed || out.length === 0) return;
    this.socket.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
  };

  // ---- receiving

  private start(): void {
    if (this.destroyed) return;
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_HEADER_TABLE_SIZE, 6);
    settings.writeUInt32BE(0, 8);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 12);
    settings.writeUInt32BE(STREAM_WINDOW, 14);
    // Ahead of anything queued: the preface comes first.
    this.out.unshift(PREFACE, frame(SETTINGS, 0, 0, settings), uint32Frame(WINDOW_UPDATE, 0, CONNECTION_WINDOW - 65_535));
    this.scheduleFlush();
  }

  private onBytes(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let pos = 0;
    try {
      while (!this.destroyed && buf.length - pos >= 9) {
        const length = ((buf[pos] ?? 0) << 16) | ((buf[pos + 1] ?? 0) << 8) | (buf[pos + 2] ?? 0);
        if (length > OUR_MAX_FRAME) throw new ConnectionError(FRAME_SIZE_ERROR, `a frame of ${length} bytes (the limit is ${OUR_MAX_FRAME})`);
        if (buf.length - pos < 9 + length) break;
        const type = buf[pos + 3] ?? 0;
        const flags = buf[pos + 4] ?? 0;
        const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
        const payload = buf.subarray(pos + 9, pos + 9 + length);
        pos += 9 + length;
        this.onFrame(type, flags, streamId, payload);
      }
    } catch (err) {
      if (err instanceof ConnectionError) this.connectionError(err.code, err.message);
      else if (err instanceof HpackError) this.connectionError(COMPRESSION_ERROR, err.message);
      else throw err;
      return;
    }
    // The rest is copied: the chunk's buffer is not ours to keep.
    if (pos < buf.length && !this.destroyed) this.pending = Buffer.from(buf.subarray(pos));
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.assembling !== undefined && type !== CONTINUATION) throw new ConnectionError(H2_PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    if (!this.settingsSeen && type !== SETTINGS) throw new ConnectionError(H2_PROTOCOL_ERROR, 'the server did not start with SETTINGS');
    switch (type) {
      case DATA:
        this.onData(flags, streamId, payload);
        return;
      case HEADERS:
        this.onHeaders(flags, streamId, payload);
        return;
      case CONTINUATION:
        this.onContinuation(flags, streamId, payload);
        return;
      case RST_STREAM: {
        if (payload.length !== 4) throw new ConnectionError(FRAME_SIZE_ERROR, 'RST_STREAM of a wrong size');
        const stream = this.streams.get(streamId);
        if (stream === undefined) return;
        stream.rstCode = payload.readUInt32BE(0);
        this.finishStream(stream);
        return;
      }
      case SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case PUSH_PROMISE:
        throw new ConnectionError(H2_PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      case PING:
        if (payload.length !== 8 || streamId !== 0) throw new ConnectionError(FRAME_SIZE_ERROR, 'a malformed PING');
        if ((flags & ACK) !== 0) {
          const n = payload.readBigUInt64BE(0);
          const callback = this.pings.get(n);
          this.pings.delete(n);
          callback?.(null);
        } else this.queue(frame(PING, ACK, 0, payload));
        return;
      case GOAWAY:
        this.onGoaway(payload);
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      default:
        // PRIORITY, and frame types we do not know: ignored (RFC 9113 §5.5).
        return;
    }
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(H2_PROTOCOL_ERROR, 'DATA on stream 0');
    const body = this.unpad(flags, payload);
    // Flow control counts the whole payload, padding included, for streams we forgot too.
    this.connectionUnacknowledged += payload.length;
    if (this.connectionUnacknowledged >= CONNECTION_WINDOW / 2) {
      this.windowUpdate(0, this.connectionUnacknowledged);
      this.connectionUnacknowledged = 0;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.remoteEnded) return;
    const ends = (flags & END_STREAM) !== 0;
    stream.unacknowledged += payload.length;
    if (!ends && stream.unacknowledged >= STREAM_WINDOW / 2) {
      this.windowUpdate(streamId, stream.unacknowledged);
      stream.unacknowledged = 0;
    }
    // A copy: the read buffer is reused by the socket.
    if (body.length > 0) stream.emitData(Buffer.from(body));
    if (ends && !stream.closed) this.remoteEnd(stream);
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(H2_PROTOCOL_ERROR, 'HEADERS on stream 0');
    let block = this.unpad(flags, payload);
    if ((flags & PRIORITY) !== 0) {
      if (block.length < 5) throw new ConnectionError(FRAME_SIZE_ERROR, 'HEADERS too short for its priority');
      block = block.subarray(5);
    }
    const endStream = (flags & END_STREAM) !== 0;
    if ((flags & END_HEADERS) !== 0) this.headerBlock(streamId, endStream, block);
    else this.assembling = { streamId, endStream, parts: [Buffer.from(block)], bytes: block.length };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const a = this.assembling;
    if (a === undefined || a.streamId !== streamId) throw new ConnectionError(H2_PROTOCOL_ERROR, 'CONTINUATION without a header block');
    a.bytes += payload.length;
    if (a.bytes > MAX_HEADER_BLOCK) throw new ConnectionError(H2_PROTOCOL_ERROR, `a header block over ${MAX_HEADER_BLOCK} bytes`);
    a.parts.push(Buffer.from(payload));
    if ((flags & END_HEADERS) === 0) return;
    this.assembling = undefined;
    this.headerBlock(streamId, a.endStream, Buffer.concat(a.parts));
  }

  private headerBlock(streamId: number, endStream: boolean, block: Buffer): void {
    // Decoded even for a stream we forgot: the decoder's table depends on every block.
    const headers = this.decoder.decode(block);
    const stream = this.streams.get(streamId);
    if (stream === undefined || stream.remoteEnded) return;
    // Informational answers (1xx) are not the response.
    const status = headers[':status'];
    if (!stream.responded && status !== undefined && status.length === 3 && status[0] === '1') return;
    stream.emitHeaders(headers);
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  private remoteEnd(stream: FrameStream): void {
    stream.remoteEnded = true;
    if (stream.localEnded) {
      this.finishStream(stream);
      return;
    }
    // Answered before our body went out (an early error): nothing more of it is wanted.
    if (stream.id !== undefined) this.queue(uint32Frame(RST_STREAM, stream.id, H2_NO_ERROR));
    this.finishStream(stream);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(H2_PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & ACK) !== 0) {
      // Our SETTINGS_HEADER_TABLE_SIZE of 0 is in force from here on.
      this.decoder.setLimit(0);
      return;
    }
    if (payload.length % 6 !== 0) throw new ConnectionError(FRAME_SIZE_ERROR, 'SETTINGS of a wrong size');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === SETTINGS_MAX_CONCURRENT_STREAMS) this.maxConcurrent = value;
      else if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) s.sendWindow += delta;
      } else if (id === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) throw new ConnectionError(H2_PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: our encoder keeps no table; ENABLE_PUSH, MAX_HEADER_LIST_SIZE and the rest: nothing to do.
    }
    this.queue(frame(SETTINGS, ACK, 0));
    this.openQueued();
    this.unblock();
    if (!this.settingsSeen) {
      this.settingsSeen = true;
      this.emit('remoteSettings');
    }
  }

  private onGoaway(payload: Buffer): void {
    if (payload.length < 8) throw new ConnectionError(FRAME_SIZE_ERROR, 'GOAWAY too short');
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.closed = true;
    this.emit('goaway', code, lastStreamId, payload.length > 8 ? Buffer.from(payload.subarray(8)) : undefined);
    // Not processed by the server: the channel sends them again.
    for (const s of [...this.streams.values()]) {
      if ((s.id ?? 0) > lastStreamId) {
        s.rstCode = H2_REFUSED_STREAM;
        this.finishStream(s);
      }
    }
    for (const s of this.queued.splice(0)) {
      s.rstCode = H2_REFUSED_STREAM;
      this.finishStream(s);
    }
    if (code !== H2_NO_ERROR) this.fail(new Error(`the server sent GOAWAY with HTTP/2 code ${code}`));
    else this.endIfIdle();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(FRAME_SIZE_ERROR, 'WINDOW_UPDATE of a wrong size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(H2_PROTOCOL_ERROR, 'a WINDOW_UPDATE of 0');
      this.connectionSendWindow += increment;
      if (this.connectionSendWindow > MAX_WINDOW) throw new ConnectionError(FLOW_CONTROL_ERROR, 'the connection window overflowed');
      this.unblock();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (this.blocked.has(stream)) this.sendBody(stream);
  }

  private unblock(): void {
    for (const s of [...this.blocked]) {
      if (this.connectionSendWindow <= 0) return;
      this.sendBody(s);
    }
  }

  private unpad(flags: number, payload: Buffer): Buffer {
    if ((flags & PADDED) === 0) return payload;
    if (payload.length < 1) throw new ConnectionError(FRAME_SIZE_ERROR, 'a padded frame without its pad length');
    const pad = payload[0] ?? 0;
    if (pad >= payload.length) throw new ConnectionError(H2_PROTOCOL_ERROR, 'padding longer than the frame');
    return payload.subarray(1, payload.length - pad);
  }

  private windowUpdate(streamId: number, increment: number): void {
    this.queue(uint32Frame(WINDOW_UPDATE, streamId, increment));
  }

  // ---- ending

  /** The stream is over: forgotten, its slot freed; 'close' now or (`deferred`) on the next tick. */
  private finishStream(stream: FrameStream, deferred = false): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.rstCode ??= H2_NO_ERROR;
    stream.pendingBody = undefined;
    this.blocked.delete(stream);
    const queuedAt = this.queued.indexOf(stream);
    if (queuedAt >= 0) this.queued.splice(queuedAt, 1);
    if (stream.id !== undefined) this.streams.delete(stream.id);
    this.active--;
    if (deferred) process.nextTick(() => stream.emitClose());
    else stream.emitClose();
    this.openQueued();
    this.endIfIdle();
  }

  private openQueued(): void {
    while (this.queued.length > 0 && this.streams.size < this.maxConcurrent && !this.destroyed) {
      const next = this.queued.shift() as FrameStream;
      this.open(next);
    }
  }

  private endIfIdle(): void {
    if (!this.closed || this.active > 0 || this.destroyed) return;
    this.queue(goawayFrame(H2_NO_ERROR));
    process.nextTick(() => {
      this.flush();
      this.socket.end();
      this.fail(undefined);
    });
  }

  private connectionError(code: number, message: string): void {
    this.queue(goawayFrame(code, message));
    this.flush();
    this.fail(new Error(`HTTP/2 protocol error from the server: ${message}`));
  }

  /** The session is over (once): streams end, pings fail, 'error' (if `err`) then 'close'. */
  private fail(err: Error | undefined): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    this.out = [];
    this.socket.destroy();
    if (err !== undefined) this.emit('error', err);
    const streams = [...this.streams.values(), ...this.queued.splice(0)];
    this.streams.clear();
    const pings = [...this.pings.values()];
    this.pings.clear();
    process.nextTick(() => {
      for (const s of streams) {
        if (s.closed) continue;
        s.closed = true;
        s.rstCode ??= H2_CANCEL;
        s.emitClose();
      }
      for (const p of pings) p(err ?? new Error('the HTTP/2 session closed'));
      this.emit('close');
    });
  }
}

/** Opens a session the way http2.connect(authority, options) would, on our own frames. */
export function connectFrames(authority: string, options: Omit<FrameSessionTarget, 'authority'>): H2FrameSession {
  return new H2FrameSession({ authority, ...options });
}
