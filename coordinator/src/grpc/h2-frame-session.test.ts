// The coordinator's own HTTP/2 framing under what real connections do to it:
// bytes cut into pieces of 1-7 bytes both ways, flow control both ways (a
// request beyond the server's window, an answer beyond our stream window),
// padding, CONTINUATION, an answer before the request is all sent, and a
// server that breaks the protocol. The servers are node:http2's (nghttp2).

import fc from 'fast-check';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Http2UnaryChannel, type Http2UnaryChannelOptions } from './http2-unary-channel.js';
import type { UnaryAnswer } from './participant-transport.js';

const options: Http2UnaryChannelOptions = {
  maxReceiveBytes: 8 * 1024 * 1024,
  keepaliveMs: 0,
  keepaliveTimeoutMs: 1000,
  connectTimeoutMs: 5000,
  maxStreamsPerConnection: 1000,
  initialReconnectBackoffMs: 10,
  maxReconnectBackoffMs: 20,
  maxMetadataHeaderBytes: 4096,
  framing: 'own',
};

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0).reverse()) c();
});

function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** A gRPC-speaking node:http2 server: `answer` gets the request message and replies. */
async function server(
  answer: (stream: http2.ServerHttp2Stream, request: Buffer, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.ServerOptions = {},
): Promise<number> {
  const s = http2.createServer(settings);
  const sockets = new Set<net.Socket>();
  s.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  s.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => answer(stream, Buffer.concat(parts).subarray(5), headers));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const socket of sockets) socket.destroy();
    s.close();
  });
  return (s.address() as net.AddressInfo).port;
}

function ok(stream: http2.ServerHttp2Stream, message: Buffer, extra: http2.OutgoingHttpHeaders = {}): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(grpcFrame(message));
}

/** A TCP proxy to `port` that passes the bytes on in pieces of 1 to 7 bytes, each direction. */
async function choppingProxy(port: number): Promise<number> {
  const sockets = new Set<net.Socket>();
  const chop = (from: net.Socket, to: net.Socket): void => {
    let seed = 7;
    from.on('data', (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; ) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const n = 1 + (seed % 7);
        to.write(chunk.subarray(at, at + n));
        at += n;
      }
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  };
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    chop(client, upstream);
    chop(upstream, client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    proxy.close();
  });
  return (proxy.address() as net.AddressInfo).port;
}

function channelTo(port: number, o: Partial<Http2UnaryChannelOptions> = {}): Http2UnaryChannel {
  const c = new Http2UnaryChannel({ address: `127.0.0.1:${port}` }, { ...options, ...o });
  cleanup.push(() => c.close());
  return c;
}

function call(c: Http2UnaryChannel, message: Buffer, metadata?: Record<string, string>): Promise<UnaryAnswer> {
  return new Promise((resolve) => c.unary({ path: '/saga.v1.Participant/Execute', message, deadline: Date.now() + 20_000, metadata }, resolve));
}

const pattern = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('the own HTTP/2 framing', () => {
  it('carries calls, statuses and large messages both ways through a proxy that cuts every frame into pieces', async () => {
    const port = await server((stream, request, headers) => {
      const action = String(headers['x-action']);
      if (action === 'fail') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '9', 'grpc-message': encodeURIComponent('not now: ünïcode') }, { endStream: true });
        return;
      }
      // Echo the request, or answer 6 MiB: past our 4 MiB stream window, so it needs WINDOW_UPDATEs.
      ok(stream, action === 'big' ? pattern(6 * 1024 * 1024, 3) : request);
    });
    const c = channelTo(await choppingProxy(port));
    // 300 KB: past the server's 64 KiB windows, so our DATA waits for its WINDOW_UPDATEs.
    const request = pattern(300_000, 1);
    const answers = await Promise.all([
      call(c, request, { 'x-action': 'echo' }),
      call(c, Buffer.from('x'), { 'x-action': 'fail' }),
      call(c, Buffer.from('y'), { 'x-action': 'big' }),
      call(c, Buffer.from('small'), { 'x-action': 'echo' }),
    ]);
    expect(answers[0]?.code).toBe(0);
    expect(answers[0]?.message?.equals(request)).toBe(true);
    expect(answers[1]).toMatchObject({ code: 9, details: 'not now: ünïcode' });
    expect(answers[2]?.code).toBe(0);
    expect(answers[2]?.message?.equals(pattern(6 * 1024 * 1024, 3))).toBe(true);
    expect(answers[3]?.message?.toString()).toBe('small');
    expect(c.stats().dials).toBe(1);
  });

  it('turns Nagle off on its TCP socket, as node:http2 does (else a small frame waits out a delayed ACK)', async () => {
    const port = await server((stream, request) => ok(stream, request));
    const spy = vi.spyOn(net.Socket.prototype, 'setNoDelay');
    cleanup.push(() => spy.mockRestore());
    const answer = await call(channelTo(port), Buffer.from('ping'));
    expect(answer.code).toBe(0);
    // The server's sockets are bound to its port; ours is the dialling one.
    const ours = spy.mock.calls.filter((_, i) => (spy.mock.contexts[i] as net.Socket).localPort !== port);
    expect(ours).toContainEqual([true]);
  });

  it('reads padded frames and a header block continued over CONTINUATION frames', async () => {
    const port = await server((stream, request) => ok(stream, request, { 'x-long': 'v'.repeat(40_000) }), {
      paddingStrategy: http2.constants.PADDING_STRATEGY_MAX,
      settings: { maxHeaderListSize: 1024 * 1024 },
    });
    const c = channelTo(port);
    for (let i = 0; i < 3; i++) {
      const answer = await call(c, pattern(1000 + i, i));
      expect(answer.code).toBe(0);
      expect(answer.message?.equals(pattern(1000 + i, i))).toBe(true);
    }
  });

  it('takes an answer that comes before the request is all sent', async () => {
    const s = http2.createServer({ settings: { initialWindowSize: 1024 } });
    s.on('stream', (stream) => {
      stream.on('error', () => undefined);
      // Refused at the headers: the 200 KB body never gets the window it needs.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '8', 'grpc-message': 'too big' }, { endStream: true });
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => s.close());
    const c = channelTo((s.address() as net.AddressInfo).port);
    expect(await call(c, pattern(200_000, 5))).toMatchObject({ code: 8, details: 'too big' });
    // The connection stays good.
    expect(await call(c, pattern(200_000, 6))).toMatchObject({ code: 8 });
    expect(c.stats().dials).toBe(1);
  });

  it('ends the calls of a connection whose server breaks the protocol UNAVAILABLE, and dials anew', async () => {
    let connections = 0;
    const good = await server((stream, request) => ok(stream, request));
    const front = net.createServer((socket) => {
      socket.on('error', () => undefined);
      cleanup.push(() => socket.destroy());
      if (connections++ > 0) {
        const upstream = net.connect(good, '127.0.0.1');
        upstream.on('error', () => undefined);
        cleanup.push(() => upstream.destroy());
        socket.pipe(upstream).pipe(socket);
        return;
      }
      // SETTINGS, then at the first request's HEADERS DATA on stream 0: a connection error.
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      let received = Buffer.alloc(0);
      let broken = false;
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        // Frames after the 24-byte client preface: 3 bytes length, 1 byte type (1 = HEADERS), ...
        for (let at = 24; !broken && received.length >= at + 9; at += 9 + received.readUIntBE(at, 3)) {
          if (received[at + 3] !== 1) continue;
          broken = true;
          socket.write(Buffer.from([0, 0, 1, 0, 0, 0, 0, 0, 0, 0x41]));
        }
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => front.close());
    const c = channelTo((front.address() as net.AddressInfo).port);
    const first = await call(c, Buffer.from('a'));
    expect(first.code).toBe(14);
    expect(first.details).toMatch(/DATA on stream 0/);
    const second = await call(c, Buffer.from('b'));
    expect(second.code).toBe(0);
    expect(second.message?.toString()).toBe('b');
    expect(c.stats().dials).toBe(2);
  });

  it('survives any frames a server sends after its SETTINGS: every call ends with a status, nothing throws', async () => {
    // Mostly the frame types there are, on the call's stream 1, with short payloads: where length checks matter.
    const frameArb = fc.record({
      type: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 9 }) }, { weight: 1, arbitrary: fc.integer({ min: 10, max: 255 }) }),
      flags: fc.integer({ min: 0, max: 255 }),
      stream: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 31 - 1 }) }),
      payload: fc.oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }),
      // Now and then a length that is not the payload's.
      lie: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 24 - 1 }) }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 8 }), async (frames) => {
        const bytes = Buffer.concat(
          frames.map((f) => {
            const head = Buffer.alloc(9);
            head.writeUIntBE(f.lie ?? f.payload.length, 0, 3);
            head[3] = f.type;
            head[4] = f.flags;
            head.writeUInt32BE(f.stream >>> 0, 5);
            return Buffer.concat([head, f.payload]);
          }),
        );
        const sockets: net.Socket[] = [];
        const hostile = net.createServer((socket) => {
          sockets.push(socket);
          socket.on('error', () => undefined);
          socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
          // At the client's first bytes after its preface: the frames, then the end of the connection.
          socket.once('data', () => socket.end(bytes));
        });
        await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
        try {
          const c = new Http2UnaryChannel({ address: `127.0.0.1:${(hostile.address() as net.AddressInfo).port}` }, options);
          const answer = await call(c, Buffer.from('x'));
          c.close();
          expect(Number.isInteger(answer.code)).toBe(true);
          expect(answer.code).toBeGreaterThanOrEqual(0);
          expect(answer.code).toBeLessThanOrEqual(16);
        } finally {
          for (const s of sockets) s.destroy();
          await new Promise((resolve) => hostile.close(resolve));
        }
      }),
      { numRuns: 150 },
    );
  });
});
