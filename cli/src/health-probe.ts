#!/usr/bin/env node
// The container's HEALTHCHECK: exit 0 when the coordinator at SAGA_ADDRESS
// (default 127.0.0.1:50051) answers SERVING, 1 otherwise. Plaintext only; with
// server TLS use `saga --tls-ca … health` instead. Loads only grpc-js, so it
// starts fast.

import { credentials } from '@grpc/grpc-js';
import { HealthClient } from './health-client.js';

const address = process.env.SAGA_ADDRESS ?? '127.0.0.1:50051';
const client = new HealthClient(address, credentials.createInsecure(), {});
try {
  const status = await client.check('', 3000);
  process.stdout.write(`${status}\n`);
  process.exitCode = status === 'SERVING' ? 0 : 1;
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
