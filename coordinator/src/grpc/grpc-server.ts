// The gRPC server: the Coordinator service, the standard health service and
// server reflection (so grpcurl and clients in any language can discover the API).

import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { ReflectionService } from '@grpc/reflection';
import { CoordinatorService, type CoordinatorServer } from '@saga/proto';
import { checkingTimestamps } from './timestamp-range.js';
import { HealthImplementation } from 'grpc-health-check';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

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

/**
 * Reflection serves the file descriptors buf compiled from the .proto files
 * (generated with the code): real dependency lists, google/protobuf/timestamp.proto
 * included, map entries named as protoc names them, so grpcurl can describe and call.
 */
function reflectionService(): ReflectionService {
  const { descriptorSetFile } = require('@saga/proto/proto-dir') as { descriptorSetFile: string };
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetFile));
  const fileDescriptorProtos = set.file.map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  // @grpc/reflection reads only fileDescriptorProtos of each entry.
  const definition = { 'saga.v1': { fileDescriptorProtos } } as unknown as PackageDefinition;
  return new ReflectionService(definition, { services: ['saga.v1.Coordinator', 'grpc.health.v1.Health'] });
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
  reflectionService().addToServer(server);
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
    listMessages: {
      ...CoordinatorService.listMessages,
      requestDeserialize: checkingTimestamps(CoordinatorService.listMessages.requestDeserialize, { 5: 'created_after', 6: 'created_before' }),
    },
    prepareMessage: {
      ...CoordinatorService.prepareMessage,
      requestDeserialize: checkingTimestamps(CoordinatorService.prepareMessage.requestDeserialize, { 8: 'deliver_at' }),
    },
  };
}
