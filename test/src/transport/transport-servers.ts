// The three participant servers the transport suite runs against, all with
// one behaviour (participants/go/cmd/transport-test-server documents it): the
// StepCall's action "echo" answers with the caller's address and the headers
// received, "hold" answers only when cancelled, "slow:N" echoes after N ms.
// grpc-js runs in this process; grpc-go is built here with `go build`; grpcio
// runs from the Python participant's venv (participants/python/scripts/setup.sh).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { ParticipantService, StepOutcome, type ExecuteRequest, type ExecuteResponse, type StepCall } from '@saga/proto';
import { ManagedProcess } from '../support/managed-process.js';
import { PYTHON_PARTICIPANT_DIR, REPO_ROOT } from '../support/repo-paths.js';

export interface ServerSettings {
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile?: string };
  /** Keepalive enforcement: pings more frequent than this earn strikes, then GOAWAY too_many_pings. */
  readonly minPingMs?: number;
  readonly maxStreams?: number;
  readonly maxConnectionAgeMs?: number;
}

export interface RunningServer {
  readonly address: string;
  stop(): Promise<void>;
}

export interface ServerKind {
  readonly name: 'grpc-js' | 'grpc-go' | 'grpcio';
  /** Whether it enforces a keepalive policy (grpc-js's server has none). */
  readonly enforcesPings: boolean;
  /** Once per suite (builds the Go server into `dir`). */
  prepare(dir: string): void;
  start(settings: ServerSettings): Promise<RunningServer>;
}

/** What "echo" answers. */
export interface Echo {
  readonly peer: string;
  readonly metadata: Readonly<Record<string, string>>;
}

function env(settings: ServerSettings): Record<string, string> {
  const e: Record<string, string> = {};
  if (settings.tls !== undefined) {
    e.TT_TLS_CERT = settings.tls.certFile;
    e.TT_TLS_KEY = settings.tls.keyFile;
    if (settings.tls.clientCaFile !== undefined) e.TT_TLS_CLIENT_CA = settings.tls.clientCaFile;
  }
  if (settings.minPingMs !== undefined) e.TT_MIN_PING_MS = String(settings.minPingMs);
  if (settings.maxStreams !== undefined) e.TT_MAX_STREAMS = String(settings.maxStreams);
  if (settings.maxConnectionAgeMs !== undefined) e.TT_MAX_CONNECTION_AGE_MS = String(settings.maxConnectionAgeMs);
  return e;
}

function stopping(proc: ManagedProcess): RunningServer {
  return {
    address: proc.address,
    stop: async () => {
      await proc.stop(5000);
    },
  };
}

let goBinary: string | undefined;

const grpcGo: ServerKind = {
  name: 'grpc-go',
  enforcesPings: true,
  prepare(dir) {
    goBinary = join(dir, 'transport-test-server');
    execFileSync('go', ['build', '-o', goBinary, './cmd/transport-test-server'], {
      cwd: join(REPO_ROOT, 'participants', 'go'),
      env: { ...process.env, CGO_ENABLED: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  },
  async start(settings) {
    if (goBinary === undefined) throw new Error('grpc-go: prepare() was not called');
    return stopping(await ManagedProcess.start({ name: 'grpc-go-transport-server', command: goBinary, args: [], env: env(settings) }));
  },
};

const grpcio: ServerKind = {
  name: 'grpcio',
  enforcesPings: true,
  prepare() {},
  async start(settings) {
    const proc = await ManagedProcess.start({
      name: 'grpcio-transport-server',
      command: join(PYTHON_PARTICIPANT_DIR, '.venv', 'bin', 'python'),
      args: [join(PYTHON_PARTICIPANT_DIR, 'scripts', 'transport_test_server.py')],
      env: env(settings),
    });
    return stopping(proc);
  },
};

function echoOf(call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>): Buffer {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = typeof v === 'string' ? v : v.toString('utf8');
  const echo: Echo = { peer: call.getPeer(), metadata };
  return Buffer.from(JSON.stringify(echo));
}

function answer(stepCall: StepCall | undefined, call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>): void {
  const action = stepCall?.action ?? '';
  const succeed = (): void => cb(null, { result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output: echoOf(call), errorCode: '', errorMessage: '' } });
  if (action === 'hold') {
    call.on('cancelled', () => cb({ code: status.CANCELLED }));
    return;
  }
  const slow = /^slow:(\d+)$/.exec(action);
  if (slow !== null) {
    const timer = setTimeout(succeed, Number(slow[1]));
    call.on('cancelled', () => clearTimeout(timer));
    return;
  }
  if (action !== 'echo') {
    cb({ code: status.INVALID_ARGUMENT, details: `action "${action}" is not echo, hold or slow:N` });
    return;
  }
  succeed();
}

const grpcJs: ServerKind = {
  name: 'grpc-js',
  enforcesPings: false,
  prepare() {},
  async start(settings) {
    const server = new Server({
      ...(settings.maxStreams !== undefined ? { 'grpc.max_concurrent_streams': settings.maxStreams } : {}),
      ...(settings.maxConnectionAgeMs !== undefined ? { 'grpc.max_connection_age_ms': settings.maxConnectionAgeMs, 'grpc.max_connection_age_grace_ms': 30_000 } : {}),
    });
    server.addService(ParticipantService, {
      execute: (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>) => answer(call.request.call, call, cb),
      compensate: (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>) => answer(call.request.call, call, cb),
      checkTransaction: (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED }),
    });
    const t = settings.tls;
    const creds =
      t === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(
            t.clientCaFile === undefined ? null : readFileSync(t.clientCaFile),
            [{ cert_chain: readFileSync(t.certFile), private_key: readFileSync(t.keyFile) }],
            t.clientCaFile !== undefined,
          );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
    return {
      address: `127.0.0.1:${port}`,
      stop: () => {
        server.forceShutdown();
        return Promise.resolve();
      },
    };
  },
};

export const SERVER_KINDS: readonly ServerKind[] = [grpcJs, grpcGo, grpcio];
