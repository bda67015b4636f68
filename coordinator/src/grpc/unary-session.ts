// What the lean unary channel (http2-unary-channel.ts) uses of an HTTP/2
// client session: node:http2's ClientHttp2Session has it, and so does the
// coordinator's own framing (h2-frame-session.ts). Header objects are plain
// name -> value maps, names lower-case.

export type RequestHeaders = Record<string, string>;
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface UnaryStream {
  /** The stream id once the request went out. */
  readonly id?: number | undefined;
  /** The HTTP/2 error code it ended with (RST_STREAM), once closed. */
  readonly rstCode?: number | undefined;
  on(event: 'response' | 'trailers', listener: (headers: ResponseHeaders) => void): this;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close', listener: () => void): this;
  off(event: 'response' | 'trailers', listener: (headers: ResponseHeaders) => void): this;
  off(event: 'data', listener: (chunk: Buffer) => void): this;
  off(event: 'close', listener: () => void): this;
  /** Sends the request body and ends our side. */
  end(body: Buffer): void;
  /** Resets the stream with `code`; 'close' follows, not synchronously. */
  close(code: number): void;
}

export interface UnarySession {
  readonly closed: boolean;
  readonly destroyed: boolean;
  /** Opens a stream with `headers` (":method", ":path" and the rest; the session adds ":scheme" and ":authority"). */
  request(headers: RequestHeaders, options: { endStream: false }): UnaryStream;
  /** Sends a PING; false when the session cannot. */
  ping(callback: (err: Error | null) => void): boolean;
  unref(): void;
  /** No new streams; ends once the open ones have. */
  close(): void;
  destroy(): void;
  once(event: 'remoteSettings', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'goaway', listener: (code: number, lastStreamId: number, data?: Buffer) => void): this;
  on(event: 'close', listener: () => void): this;
}
