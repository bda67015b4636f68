// The gRPC server: the Coordinator service, the standard health service and
// server reflection (so grpcurl and clients in any language can discover the API).

import { Server, ServerCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { CoordinatorService, type CoordinatorServer } from '@saga/proto';
import { checkingTimestamps } from './timestamp-range.js';
import { HealthImplementation } from 'grpc-health-check';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface ServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** Set to require client certificates signed by this CA (mTLS). */
  readonly clientCaFile?: string;
}

export interface GrpcServerOptions {
  readonly listen: string;
  readonly service: CoordinatorServer;
  readonly maxReceiveMessageBytes: number;
  readonly credentials: ServerCredentials;
}

export interface RunningServer {
  readonly address: string;
  readonly health: HealthImplementation;
  /** Stops accepting calls, lets calls in flight finish (bounded), then stops. */
  shutdown(graceMs: number): Promise<void>;
}

const require = createRequire(import.meta.url);

/** The .proto files of what this server serves (Coordinator, Health), for reflection. */
function protoFiles(): { dirs: string[]; files: string[] } {
  const { protoDir } = require('@saga/proto/proto-dir') as { protoDir: string };
  const healthRoot = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto');
  return {
    dirs: [protoDir, healthRoot],
    files: [join('saga', 'v1', 'coordinator.proto'), join('saga', 'v1', 'events.proto'), join('health', 'v1', 'health.proto')],
  };
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningServer> {
  const server = new Server({
    // No channelz service is served: its per-call bookkeeping is pure cost.
    'grpc.enable_channelz': 0,
    'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
  });
  server.addService(coordinatorServiceCheckingTimestamps(), options.service);
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'saga.v1.Coordinator': 'NOT_SERVING' });
  health.addToServer(server);
  const { dirs, files } = protoFiles();
  const definitions = loadSync(files, { includeDirs: dirs, keepCase: true });
  new ReflectionService(definitions).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, options.credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
  return {
    address: `${host}:${port}`,
    health,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus('saga.v1.Coordinator', 'NOT_SERVING');
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** The generated service definition, with the Timestamp fields of requests range-checked on the wire. */
function coordinatorServiceCheckingTimestamps(): typeof CoordinatorService {
  return {
    ...CoordinatorService,
    listSagas: {
      ...CoordinatorService.listSagas,
      requestDeserialize: checkingTimestamps(CoordinatorService.listSagas.requestDeserialize, { 3: 'created_after', 4: 'created_before' }),
    },
    prepareMessage: {
      ...CoordinatorService.prepareMessage,
      requestDeserialize: checkingTimestamps(CoordinatorService.prepareMessage.requestDeserialize, { 8: 'deliver_at' }),
    },
  };
}
