// The load driver's gRPC client: unary calls over node:http2 with a request
// encoded once. The coordinator is what is measured; on a 2-core machine every
// microsecond the driver spends is taken from it, and grpc-js's client costs
// about twice as much per call (run-bench --driver grpc-js to compare).

import http2 from 'node:http2';

export interface LeanAnswer {
  /** gRPC status (0 = OK). */
  readonly code: number;
  readonly details: string;
  /** The response message (without the 5-byte gRPC frame header). */
  readonly message: Buffer | undefined;
}

export class LeanUnaryClient {
  private session: http2.ClientHttp2Session | undefined;

  constructor(private readonly address: string) {}

  /** `framed` = the 5-byte gRPC header + message, built once by the caller. */
  call(path: string, framed: Buffer, timeoutMs: number, done: (answer: LeanAnswer) => void): void {
    let finished = false;
    const finish = (a: LeanAnswer): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      done(a);
    };
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish({ code: 4, details: 'deadline exceeded', message: undefined });
    }, timeoutMs);
    const stream = this.connection().request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${timeoutMs}m`,
    });
    let status: number | undefined;
    let details = '';
    let data: Buffer | undefined;
    const onHeaders = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) {
        status = Number(h['grpc-status']);
        details = typeof h['grpc-message'] === 'string' ? decodeURIComponent(h['grpc-message']) : '';
      }
    };
    stream.on('response', onHeaders);
    stream.on('trailers', onHeaders);
    stream.on('data', (chunk: Buffer) => {
      data = data === undefined ? chunk : Buffer.concat([data, chunk]);
    });
    stream.on('error', () => undefined);
    stream.on('close', () => {
      if (status === undefined) finish({ code: 14, details: `no status (HTTP/2 code ${stream.rstCode ?? 0})`, message: undefined });
      else finish({ code: status, details, message: data === undefined || data.length < 5 ? undefined : data.subarray(5) });
    });
    stream.end(framed);
  }

  close(): void {
    this.session?.close();
  }

  private connection(): http2.ClientHttp2Session {
    if (this.session !== undefined && !this.session.closed && !this.session.destroyed) return this.session;
    const s = http2.connect(`http://${this.address}`, { maxSessionMemory: Number.MAX_SAFE_INTEGER });
    s.on('error', () => undefined);
    this.session = s;
    return s;
  }
}

/** The gRPC length-prefixed frame of one message. */
export function frame(message: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + message.length);
  b[0] = 0;
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
}
