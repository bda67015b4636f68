// A Coordinator client built at run time from the .proto files with
// @grpc/proto-loader, the way a client in any language would be: no generated code.

import { credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_DIR } from './repo-paths.js';

type Callback = (err: ServiceError | null, res: unknown) => void;
type DynamicClient = Client & Record<string, (req: unknown, cb: Callback) => void>;

export interface DynamicCoordinator {
  call(method: string, request: unknown): Promise<Record<string, unknown>>;
  close(): void;
}

export function dynamicCoordinator(address: string): DynamicCoordinator {
  const definition = loadSync(['saga/v1/coordinator.proto'], {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    saga: { v1: { Coordinator: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => DynamicClient } };
  };
  const client = new pkg.saga.v1.Coordinator(address, credentials.createInsecure());
  return {
    call: (method, request) =>
      new Promise((resolve, reject) => {
        const fn = client[method];
        if (typeof fn !== 'function') {
          reject(new Error(`no method ${method}`));
          return;
        }
        fn.call(client, request, (err, res) => (err ? reject(err) : resolve(res as Record<string, unknown>)));
      }),
    close: () => client.close(),
  };
}
