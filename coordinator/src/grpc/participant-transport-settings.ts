// Settings of the participant transport (config key `participantTransport`):
// documented, defaulted, validated once at start.

export interface ParticipantTransportSettings {
  /**
   * "frames" (default): the lean channel on the coordinator's own HTTP/2
   * framing (h2-frame-session.ts), a fraction of node:http2's CPU per call.
   * "http2": the same channel on node:http2. "grpc-js": grpc-js's client,
   * tuned alike (channelz off, same keepalive), for the A/B bench.
   */
  readonly implementation: 'http2' | 'frames' | 'grpc-js';
  /**
   * Where the http2 channels run: "main", the event loop that runs the
   * engine; "worker", a thread of their own (channel-thread.ts), which takes
   * their CPU off the event loop where a core is free for it; or "auto"
   * (default): "worker" when the process may use two CPUs or more
   * (os.availableParallelism(): affinity masks such as taskset count), else
   * "main".
   */
  readonly thread: 'main' | 'worker' | 'auto';
  /**
   * While calls are in flight, ping every this many ms; 0 = never. Idle
   * connections are never pinged. Default 5 min: grpc-go's default enforcement
   * (MinTime 5 min) answers more frequent pings with GOAWAY too_many_pings.
   */
  readonly keepaliveMs: number;
  /** A ping unanswered this long closes the connection. Default 20 s. */
  readonly keepaliveTimeoutMs: number;
  /** From dial until the participant's HTTP/2 settings arrive. Default 10 s. */
  readonly connectTimeoutMs: number;
  /** Streams on one connection before a fresh one is dialled (HTTP/2 stream ids run out at ~1.07 billion). Default 100,000,000. */
  readonly maxStreamsPerConnection: number;
  /**
   * First pause before re-dialling after a failed connect; doubles per failure
   * with full jitter. Calls meanwhile fail at once (UNAVAILABLE) and are retried
   * by their own policy. Default 100 ms.
   */
  readonly initialReconnectBackoffMs: number;
  /** Cap of that pause: a participant back from a restart waits at most this long for the next dial. Default 1 s. */
  readonly maxReconnectBackoffMs: number;
  /** Budget for the saga metadata sent as headers per call; entries beyond are left out. Default 4096. */
  readonly maxMetadataHeaderBytes: number;
}

export const DEFAULT_PARTICIPANT_TRANSPORT: ParticipantTransportSettings = {
  implementation: 'frames',
  thread: 'auto',
  keepaliveMs: 300_000,
  keepaliveTimeoutMs: 20_000,
  connectTimeoutMs: 10_000,
  maxStreamsPerConnection: 100_000_000,
  initialReconnectBackoffMs: 100,
  maxReconnectBackoffMs: 1_000,
  maxMetadataHeaderBytes: 4096,
};

/**
 * Whether the http2 channels run on their own thread: "worker" always (with
 * http2 or frames), "auto" when the process may use at least two CPUs; grpc-js never.
 */
export function channelsOnOwnThread(s: Pick<ParticipantTransportSettings, 'implementation' | 'thread'>, availableCpus: number): boolean {
  if (s.implementation === 'grpc-js') return false;
  return s.thread === 'worker' || (s.thread === 'auto' && availableCpus >= 2);
}

/** HTTP/2 client stream ids are odd numbers up to 2^31-1. */
const MAX_STREAMS = 2 ** 30 - 1;

/** The first problem with `s`, as [setting, problem], or undefined. */
export function participantTransportProblem(s: ParticipantTransportSettings): [string, string] | undefined {
  if (s.implementation !== 'http2' && s.implementation !== 'frames' && s.implementation !== 'grpc-js') {
    return ['implementation', `must be "http2", "frames" or "grpc-js", not "${String(s.implementation)}"`];
  }
  if (s.thread !== 'main' && s.thread !== 'worker' && s.thread !== 'auto') return ['thread', `must be "main", "worker" or "auto", not "${String(s.thread)}"`];
  if (s.thread === 'worker' && s.implementation === 'grpc-js') return ['thread', '"worker" runs the lean channels only: set implementation to "http2" or "frames"'];
  const integers: [keyof ParticipantTransportSettings, number, number][] = [
    ['keepaliveMs', 0, 2 ** 31 - 1],
    ['keepaliveTimeoutMs', 1, 2 ** 31 - 1],
    ['connectTimeoutMs', 1, 2 ** 31 - 1],
    ['maxStreamsPerConnection', 1, MAX_STREAMS],
    ['initialReconnectBackoffMs', 1, 2 ** 31 - 1],
    ['maxReconnectBackoffMs', 1, 2 ** 31 - 1],
    ['maxMetadataHeaderBytes', 0, 1024 * 1024],
  ];
  for (const [key, min, max] of integers) {
    const v = s[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return [key, `must be an integer in [${min}, ${max}]`];
  }
  if (s.maxReconnectBackoffMs < s.initialReconnectBackoffMs) return ['maxReconnectBackoffMs', 'must be >= initialReconnectBackoffMs'];
  return undefined;
}
