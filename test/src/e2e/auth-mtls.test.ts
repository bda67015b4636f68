// The mTLS identity path: a verified client certificate's subject CN or SAN,
// mapped in auth.mtls, grants its role without a token; an unmapped
// certificate holds no role; a token still works over the same TLS server.

import { credentials, status } from '@grpc/grpc-js';
import { CoordinatorClient } from '@saga/proto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { bearer, callRpc } from '../support/rpc-outcome.js';
import { createTestCa, type Issued, type TestCa } from '../support/test-certificates.js';
import { idFor, testDir } from '../support/test-dir.js';

const dir = testDir('auth-mtls');
let ca: TestCa;
let coordinator: ManagedProcess;
const clients: CoordinatorClient[] = [];

function clientWith(cert: Issued): CoordinatorClient {
  const c = new CoordinatorClient(
    coordinator.address,
    credentials.createSsl(readFileSync(ca.caFile), readFileSync(cert.keyFile), readFileSync(cert.certFile)),
    { 'grpc.ssl_target_name_override': 'localhost' },
  );
  clients.push(c);
  return c;
}

let viewer: Issued;
let producer: Issued;
let stranger: Issued;

beforeAll(async () => {
  ca = createTestCa(dir.path);
  const server = ca.issue('server', 'localhost', 'DNS:localhost,IP:127.0.0.1');
  viewer = ca.issue('viewer', 'dashboard', 'DNS:dashboard.internal');
  producer = ca.issue('producer', 'stock-service', 'DNS:stock.internal,URI:spiffe://test/stock');
  stranger = ca.issue('stranger', 'stranger', 'DNS:stranger.internal');
  const config = dir.file('config.json');
  writeFileSync(
    config,
    JSON.stringify({
      tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.caFile },
      messages: { subjects: ['orders.>'] },
      auth: {
        tokens: { operator: ['operator-token'] },
        mtls: [
          { identity: 'CN=dashboard', role: 'client' },
          { identity: 'URI:spiffe://test/stock', role: 'producer', producer: 'stock' },
        ],
      },
    }),
  );
  coordinator = await startCoordinator({ db: dir.file('c.db'), participants: { stock: '127.0.0.1:9' }, env: { SAGA_CONFIG: config } });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await coordinator.stop();
  dir.remove();
});

describe('client certificates mapped to roles', () => {
  it('a certificate mapped by its subject CN holds the client role, and only it', async () => {
    const c = clientWith(viewer);
    const started = await callRpc(c, 'startSaga', { sagaId: idFor('mtls viewer'), name: 'mtls', steps: [{ name: 's', participant: 'stock', action: 'a' }] });
    expect(status[started.code], started.details).toBe('OK');
    expect(status[(await callRpc(c, 'getSaga', { sagaId: 'mtls-none' })).code]).toBe('NOT_FOUND');
    expect(status[(await callRpc(c, 'abortSaga', { sagaId: 'mtls-none', reason: 'r' })).code]).toBe('PERMISSION_DENIED');
    expect(status[(await callRpc(c, 'getMessage', { messageId: 'mtls-none' })).code]).toBe('PERMISSION_DENIED');
  });

  it('a certificate mapped by a URI SAN holds the producer role for its producer', async () => {
    const c = clientWith(producer);
    const messageId = idFor('mtls producer');
    const prepared = await callRpc(c, 'prepareMessage', { messageId, subject: 'orders.created', producer: 'stock' });
    expect(status[prepared.code], prepared.details).toBe('OK');
    expect(status[(await callRpc(c, 'commitMessage', { messageId })).code]).toBe('OK');
    expect(status[(await callRpc(c, 'getSaga', { sagaId: 'mtls-none' })).code]).toBe('PERMISSION_DENIED');
  });

  it('an unmapped certificate holds no role: UNAUTHENTICATED; with a token it has the token\'s role', async () => {
    const c = clientWith(stranger);
    expect(status[(await callRpc(c, 'getSaga', { sagaId: 'mtls-none' })).code]).toBe('UNAUTHENTICATED');
    expect(status[(await callRpc(c, 'prepareMessage', { subject: 'orders.created', producer: 'stock' })).code]).toBe('UNAUTHENTICATED');
    const withToken = await callRpc(c, 'retrySaga', { sagaId: 'mtls-none' }, { metadata: bearer('operator-token') });
    expect(status[withToken.code], withToken.details).toBe('NOT_FOUND');
  });
});
