// StartSaga refuses bad definitions with INVALID_ARGUMENT naming the field
// (and the other codes where they apply), through a client built at run time
// from the .proto files. Also: health service and server reflection answer.

import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynamicCoordinator, type DynamicCoordinator } from '../support/dynamic-client.js';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { testDir } from '../support/test-dir.js';
import { HealthClient } from '../support/health-client.js';

let coordinator: ManagedProcess;
let client: DynamicCoordinator;
const dir = testDir('validation');

const step = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'reserve',
  participant: 'stock',
  action: 'deduct',
  ...over,
});

beforeAll(async () => {
  // "stock" is registered but not running: validation never dials it.
  coordinator = await startCoordinator({ db: dir.file('c.db'), participants: { stock: '127.0.0.1:9' } });
  client = dynamicCoordinator(coordinator.address);
});

afterAll(async () => {
  client.close();
  await coordinator.stop();
  dir.remove();
});

async function expectError(request: Record<string, unknown>, code: status, field: string): Promise<void> {
  const err = (await client.call('startSaga', request).then(
    () => undefined,
    (e: unknown) => e,
  )) as ServiceError | undefined;
  expect(err, `expected ${status[code]} for ${field}`).toBeDefined();
  expect(status[err!.code]).toBe(status[code]);
  expect(err!.details).toContain(field);
}

describe('StartSaga validation', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['empty saga name', { name: '', steps: [step()] }, 'name'],
    ['saga name too long', { name: 'a'.repeat(129), steps: [step()] }, 'name'],
    ['saga name with a subject separator', { name: 'place.order', steps: [step()] }, 'name'],
    ['no steps', { name: 'ok', steps: [] }, 'steps'],
    ['too many steps', { name: 'ok', steps: Array.from({ length: 101 }, (_, i) => step({ name: `s${i}` })) }, 'steps'],
    ['empty step name', { name: 'ok', steps: [step({ name: '' })] }, 'steps[0].name'],
    ['duplicate step name', { name: 'ok', steps: [step(), step()] }, 'steps[1].name'],
    ['unknown participant', { name: 'ok', steps: [step({ participant: 'ghost' })] }, 'steps[0].participant'],
    ['raw address as participant', { name: 'ok', steps: [step({ participant: '10.1.2.3:50051' })] }, 'steps[0].participant'],
    ['empty action', { name: 'ok', steps: [step({ action: '' })] }, 'steps[0].action'],
    ['unknown depends_on', { name: 'ok', steps: [step({ dependsOn: ['nope'] })] }, 'steps[0].depends_on[0]'],
    [
      'cyclic depends_on',
      { name: 'ok', steps: [step({ name: 'a', dependsOn: ['b'] }), step({ name: 'b', dependsOn: ['a'] })] },
      'depends_on',
    ],
    ['self dependency', { name: 'ok', steps: [step({ name: 'a', dependsOn: ['a'] })] }, 'steps[0].depends_on[0]'],
    ['oversized payload', { name: 'ok', steps: [step({ payload: Buffer.alloc(1024 * 1024 + 1) })] }, 'steps[0].payload'],
    ['max_backoff below initial', { name: 'ok', steps: [step({ retry: { initialBackoffMs: 500, maxBackoffMs: 100 } })] }, 'steps[0].retry.max_backoff_ms'],
    ['backoff multiplier below 1', { name: 'ok', steps: [step({ retry: { backoffMultiplier: 0.5 } })] }, 'steps[0].retry.backoff_multiplier'],
    ['attempt timeout too large', { name: 'ok', steps: [step({ compensationRetry: { attemptTimeoutMs: 3_600_001 } })] }, 'steps[0].compensation_retry.attempt_timeout_ms'],
    ['wait too long', { name: 'ok', steps: [step()], waitMs: 300_001 }, 'wait_ms'],
    ['deadline too long', { name: 'ok', steps: [step()], options: { deadlineMs: 4_000_000_000 } }, 'options.deadline_ms'],
    ['bad saga id', { sagaId: 'has space', name: 'ok', steps: [step()] }, 'saga_id'],
  ];
  for (const [title, request, field] of cases) {
    it(`refuses ${title} with INVALID_ARGUMENT naming ${field}`, async () => {
      await expectError(request, status.INVALID_ARGUMENT, field);
    });
  }

  it('answers NOT_FOUND for an unknown saga and FAILED_PRECONDITION for a bad state change', async () => {
    await expect(client.call('getSaga', { sagaId: 'never-started' })).rejects.toMatchObject({ code: status.NOT_FOUND });
    await expect(client.call('getSaga', { sagaId: '' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    const started = await client.call('startSaga', { sagaId: 'validation-manual', name: 'ok', steps: [step()] });
    expect(started.sagaId).toBe('validation-manual');
    await expect(client.call('retrySaga', { sagaId: 'validation-manual' })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
    await expect(client.call('resolveSaga', { sagaId: 'validation-manual', note: 'x' })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await expect(client.call('startSaga', { sagaId: 'validation-manual', name: 'other', steps: [step()] })).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
    });
    await expect(client.call('listSagas', { pageSize: 5000 })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('serves the standard health service and server reflection', async () => {
    const health = new HealthClient(coordinator.address, credentials.createInsecure());
    expect(await health.check('saga.v1.Coordinator')).toBe('SERVING');
    expect(await health.check('')).toBe('SERVING');
    health.close();
    const services = await listServicesByReflection(coordinator.address);
    expect(services).toEqual(expect.arrayContaining(['saga.v1.Coordinator', 'grpc.health.v1.Health']));
  });
});

async function listServicesByReflection(address: string): Promise<string[]> {
  const { loadSync } = await import('@grpc/proto-loader');
  const { loadPackageDefinition } = await import('@grpc/grpc-js');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const protoPath = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto');
  const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true })) as any;
  const Reflection = pkg.grpc.reflection.v1alpha.ServerReflection;
  const client = new Reflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo();
    stream.on('data', (msg: any) => {
      resolve(msg.list_services_response.service.map((s: any) => s.name));
      stream.end();
      client.close();
    });
    stream.on('error', reject);
    stream.write({ list_services: '' });
  });
}
