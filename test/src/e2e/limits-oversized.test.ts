// Every string field of every Coordinator RPC, sent 2 MB long, is refused with
// INVALID_ARGUMENT at once, naming the field and quoting at most ~100
// characters; the connection stays usable, and the coordinator's memory does
// not grow with such calls. (A 2 MB id once made the error trailers outgrow the
// HTTP/2 header limit: the call hung and the connection stalled.)

import { credentials, status } from '@grpc/grpc-js';
import { CoordinatorClient } from '@saga/proto';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { callRpc, type RpcName } from '../support/rpc-outcome.js';
import { testDir } from '../support/test-dir.js';

const BIG = 'a'.repeat(2 * 1024 * 1024);
const dir = testDir('limits-oversized');
let coordinator: ManagedProcess;
let client: CoordinatorClient;

const step = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'reserve', participant: 'stock', action: 'deduct', ...over });
const saga = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'limits', steps: [step()], ...over });
const message = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ subject: 'orders.created', producer: 'stock', ...over });

/** [rpc, the field's path in the error, the request with that field 2 MB long] */
const CASES: [RpcName, string, Record<string, unknown>][] = [
  ['startSaga', 'saga_id', saga({ sagaId: BIG })],
  ['startSaga', 'name', saga({ name: BIG })],
  ['startSaga', 'metadata', saga({ metadata: { [BIG]: 'v' } })],
  ['startSaga', 'metadata["k"]', saga({ metadata: { k: BIG } })],
  ['startSaga', 'steps[0].name', saga({ steps: [step({ name: BIG })] })],
  ['startSaga', 'steps[0].participant', saga({ steps: [step({ participant: BIG })] })],
  ['startSaga', 'steps[0].action', saga({ steps: [step({ action: BIG })] })],
  ['startSaga', 'steps[0].compensate_action', saga({ steps: [step({ compensateAction: BIG })] })],
  ['startSaga', 'steps[0].depends_on[0]', saga({ steps: [step({ dependsOn: [BIG] })] })],
  ['startSaga', 'steps[0].metadata', saga({ steps: [step({ metadata: { [BIG]: 'v' } })] })],
  ['startSaga', 'steps[0].metadata["k"]', saga({ steps: [step({ metadata: { k: BIG } })] })],
  ['getSaga', 'saga_id', { sagaId: BIG }],
  ['watchSaga', 'saga_id', { sagaId: BIG }],
  ['listSagas', 'name', { name: BIG }],
  ['listSagas', 'page_token', { pageToken: BIG }],
  ['abortSaga', 'saga_id', { sagaId: BIG, reason: 'r' }],
  ['abortSaga', 'reason', { sagaId: 'limits-x', reason: BIG }],
  ['retrySaga', 'saga_id', { sagaId: BIG }],
  ['resolveSaga', 'saga_id', { sagaId: BIG, note: 'n' }],
  ['resolveSaga', 'note', { sagaId: 'limits-x', note: BIG }],
  ['prepareMessage', 'message_id', message({ messageId: BIG })],
  ['prepareMessage', 'subject', message({ subject: BIG })],
  ['prepareMessage', 'key', message({ key: BIG })],
  ['prepareMessage', 'headers', message({ headers: { [BIG]: 'v' } })],
  ['prepareMessage', 'headers["k"]', message({ headers: { k: BIG } })],
  ['prepareMessage', 'producer', message({ producer: BIG })],
  ['commitMessage', 'message_id', { messageId: BIG }],
  ['rollbackMessage', 'message_id', { messageId: BIG }],
  ['rollbackMessage', 'reason', { messageId: 'limits-x', reason: BIG }],
  ['getMessage', 'message_id', { messageId: BIG }],
  ['listMessages', 'subject', { subject: BIG }],
  ['listMessages', 'key', { key: BIG }],
  ['listMessages', 'producer', { producer: BIG }],
  ['listMessages', 'page_token', { pageToken: BIG }],
  ['listDeadLetters', 'page_token', { pageToken: BIG }],
  ['replayDeadLetter', 'event_id', { eventId: BIG }],
  ['dropDeadLetter', 'event_id', { eventId: BIG }],
];

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN) * 1024;
}

beforeAll(async () => {
  // "stock" is registered but not running: nothing here dials it.
  coordinator = await startCoordinator({
    db: dir.file('c.db'),
    participants: { stock: '127.0.0.1:9' },
    env: { SAGA_CONFIG: writeConfig() },
  });
  client = new CoordinatorClient(coordinator.address, credentials.createInsecure());
});

function writeConfig(): string {
  const file = dir.file('config.json');
  writeFileSync(file, JSON.stringify({ messages: { subjects: ['orders.>'] } }));
  return file;
}

afterAll(async () => {
  client.close();
  await coordinator.stop();
  dir.remove();
});

describe('oversized string fields', () => {
  for (const [rpc, field, request] of CASES) {
    it(`${rpc} ${field}: INVALID_ARGUMENT within 1 s naming the field, quoting little; the connection still answers`, async () => {
      const outcome = await callRpc(client, rpc, request, { deadlineMs: 1_000 });
      expect(status[outcome.code], outcome.details).toBe('INVALID_ARGUMENT');
      expect(outcome.details.startsWith(`${field}`), outcome.details).toBe(true);
      expect(outcome.details.length).toBeLessThan(400);
      // Made right after it, on the same connection.
      const next = await callRpc(client, 'getSaga', { sagaId: 'limits-never-started' }, { deadlineMs: 1_000 });
      expect(status[next.code]).toBe('NOT_FOUND');
    });
  }

  it('keeps RSS within 50 MB over 100 oversized calls', async () => {
    const pid = coordinator.pid;
    // Warm up the paths (JIT, buffers) before the baseline.
    for (const [rpc, , request] of CASES.slice(0, 10)) await callRpc(client, rpc, request);
    const before = rssBytes(pid);
    for (let i = 0; i < 100; i++) {
      const [rpc, , request] = CASES[i % CASES.length]!;
      const outcome = await callRpc(client, rpc, request, { deadlineMs: 5_000 });
      expect(status[outcome.code]).toBe('INVALID_ARGUMENT');
    }
    const after = rssBytes(pid);
    console.log(`limits-oversized RSS before ${(before / 1e6).toFixed(1)} MB, after 100 oversized calls ${(after / 1e6).toFixed(1)} MB`);
    expect(after - before).toBeLessThan(50 * 1024 * 1024);
  });
});
