// A client of the standard grpc.health.v1.Health service, from its .proto.

import { loadPackageDefinition, type ChannelCredentials } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export class HealthClient {
  private readonly client: any;

  constructor(address: string, creds: ChannelCredentials) {
    const root = dirname(require.resolve('grpc-health-check/package.json'));
    const pkg = loadPackageDefinition(loadSync(join(root, 'proto', 'health', 'v1', 'health.proto'), { keepCase: true, enums: String })) as any;
    this.client = new pkg.grpc.health.v1.Health(address, creds);
  }

  check(service: string): Promise<string> {
    return new Promise((resolve, reject) =>
      this.client.Check({ service }, { deadline: Date.now() + 5000 }, (err: Error | null, res: { status: string }) =>
        err ? reject(err) : resolve(res.status),
      ),
    );
  }

  close(): void {
    this.client.close();
  }
}
