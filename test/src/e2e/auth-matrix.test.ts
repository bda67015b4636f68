// Authorization on every RPC: each one × {no credential, wrong token, another
// role's token, the right token}. Health and reflection stay open. Mistakes in
// the auth settings stop the coordinator with exit 2, naming the setting.

import { credentials, Metadata, status } from '@grpc/grpc-js';
import { CoordinatorClient, type PrepareMessageResponse } from '@saga/proto';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthClient } from '../support/health-client.js';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { COORDINATOR_MAIN } from '../support/repo-paths.js';
import { bearer, callRpc, type RpcName } from '../support/rpc-outcome.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';

const dir = testDir('auth-matrix');
let coordinator: ManagedProcess;
let client: CoordinatorClient;

const TOKENS = { client: 'client-token-1', operator: 'operator-token-1', stock: 'producer-stock-1', other: 'producer-other-1' };
const step = { name: 'reserve', participant: 'stock', action: 'deduct' };
const sagaId = idFor('auth matrix');
const abortId = idFor('auth matrix', 'abort');

beforeAll(async () => {
  const config = dir.file('config.json');
  writeFileSync(
    config,
    JSON.stringify({
      messages: { subjects: ['orders.>'] },
      auth: { tokens: { client: ['client-token-0', TOKENS.client], operator: [TOKENS.operator], producer: { stock: [TOKENS.stock], other: [TOKENS.other] } } },
    }),
  );
  // The participants are registered but not running: sagas stay RUNNING, retrying.
  coordinator = await startCoordinator({
    db: dir.file('c.db'),
    participants: { stock: '127.0.0.1:9', other: '127.0.0.1:9' },
    env: { SAGA_CONFIG: config },
  });
  client = new CoordinatorClient(coordinator.address, credentials.createInsecure());
  for (const id of [sagaId, abortId]) {
    const started = await callRpc(client, 'startSaga', { sagaId: id, name: 'guarded', steps: [step] }, { metadata: bearer(TOKENS.client) });
    expect(status[started.code], started.details).toBe('OK');
  }
});

afterAll(async () => {
  client.close();
  await coordinator.stop();
  dir.remove();
});

async function prepare(messageId: string): Promise<void> {
  const res = await callRpc(
    client,
    'prepareMessage',
    { messageId, subject: 'orders.created', producer: 'stock', checkPolicy: { checkAfterMs: 3_600_000 } },
    { metadata: bearer(TOKENS.stock) },
  );
  expect(status[res.code], res.details).toBe('OK');
  expect((res.response as PrepareMessageResponse).messageId).toBe(messageId);
}

interface Row {
  readonly rpc: RpcName;
  readonly request: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Tokens of roles this RPC does not accept. */
  readonly others: readonly string[];
  /** The right token(s) and what the call then answers. */
  readonly right: readonly (readonly [string, keyof typeof status])[];
}

const ROWS: Row[] = [
  { rpc: 'startSaga', request: () => ({ name: 'guarded', steps: [step] }), others: [TOKENS.stock], right: [[TOKENS.client, 'OK'], [TOKENS.operator, 'OK']] },
  { rpc: 'getSaga', request: () => ({ sagaId }), others: [TOKENS.stock], right: [[TOKENS.client, 'OK'], [TOKENS.operator, 'OK']] },
  { rpc: 'listSagas', request: () => ({ name: 'guarded' }), others: [TOKENS.other], right: [[TOKENS.client, 'OK']] },
  { rpc: 'watchSaga', request: () => ({ sagaId }), others: [TOKENS.stock], right: [[TOKENS.client, 'OK']] },
  { rpc: 'abortSaga', request: () => ({ sagaId: abortId, reason: 'test' }), others: [TOKENS.client, TOKENS.stock], right: [[TOKENS.operator, 'OK']] },
  { rpc: 'retrySaga', request: () => ({ sagaId }), others: [TOKENS.client, TOKENS.stock], right: [[TOKENS.operator, 'FAILED_PRECONDITION']] },
  { rpc: 'resolveSaga', request: () => ({ sagaId, note: 'done by hand' }), others: [TOKENS.client], right: [[TOKENS.operator, 'FAILED_PRECONDITION']] },
  { rpc: 'listDeadLetters', request: () => ({}), others: [TOKENS.client, TOKENS.stock], right: [[TOKENS.operator, 'OK']] },
  { rpc: 'replayDeadLetter', request: () => ({ eventId: 'no-such-event' }), others: [TOKENS.client, TOKENS.stock], right: [[TOKENS.operator, 'NOT_FOUND']] },
  { rpc: 'dropDeadLetter', request: () => ({ eventId: 'no-such-event' }), others: [TOKENS.client, TOKENS.other], right: [[TOKENS.operator, 'NOT_FOUND']] },
  {
    rpc: 'prepareMessage',
    request: () => ({ messageId: idFor('auth prepare'), subject: 'orders.created', producer: 'stock' }),
    // The other producer may not prepare in stock's name.
    others: [TOKENS.client, TOKENS.operator, TOKENS.other],
    right: [[TOKENS.stock, 'OK']],
  },
  {
    rpc: 'commitMessage',
    request: async () => {
      const messageId = idFor('auth commit');
      await prepare(messageId);
      return { messageId };
    },
    others: [TOKENS.client, TOKENS.operator, TOKENS.other],
    right: [[TOKENS.stock, 'OK']],
  },
  {
    rpc: 'rollbackMessage',
    request: async () => {
      const messageId = idFor('auth rollback');
      await prepare(messageId);
      return { messageId, reason: 'test' };
    },
    others: [TOKENS.client, TOKENS.other],
    right: [[TOKENS.stock, 'OK']],
  },
  {
    rpc: 'getMessage',
    request: async () => {
      const messageId = idFor('auth get');
      await prepare(messageId);
      return { messageId };
    },
    others: [TOKENS.client, TOKENS.other],
    right: [[TOKENS.stock, 'OK'], [TOKENS.operator, 'OK']],
  },
  // The other producer may not list stock's messages (test/src/messages/list-messages.test.ts: what each sees).
  { rpc: 'listMessages', request: () => ({ producer: 'stock' }), others: [TOKENS.client, TOKENS.other], right: [[TOKENS.stock, 'OK'], [TOKENS.operator, 'OK']] },
];

describe('every RPC × credential', () => {
  for (const row of ROWS) {
    it(`${row.rpc}: none and wrong → UNAUTHENTICATED, another role → PERMISSION_DENIED, right → answered`, async () => {
      const request = await row.request();
      const none = await callRpc(client, row.rpc, request);
      expect(status[none.code], none.details).toBe('UNAUTHENTICATED');
      for (const wrong of ['not-a-token', `${TOKENS.client}x`]) {
        const outcome = await callRpc(client, row.rpc, request, { metadata: bearer(wrong) });
        expect(status[outcome.code], outcome.details).toBe('UNAUTHENTICATED');
      }
      const malformed = new Metadata();
      malformed.set('authorization', TOKENS.client);
      expect(status[(await callRpc(client, row.rpc, request, { metadata: malformed })).code]).toBe('UNAUTHENTICATED');
      for (const other of row.others) {
        const outcome = await callRpc(client, row.rpc, request, { metadata: bearer(other) });
        expect(status[outcome.code], `${other}: ${outcome.details}`).toBe('PERMISSION_DENIED');
      }
      for (const [token, code] of row.right) {
        const outcome = await callRpc(client, row.rpc, request, { metadata: bearer(token) });
        expect(status[outcome.code], `${token}: ${outcome.details}`).toBe(code);
      }
    });
  }

  it('the second token of a role works as the first (rotation)', async () => {
    const outcome = await callRpc(client, 'getSaga', { sagaId }, { metadata: bearer('client-token-0') });
    expect(status[outcome.code], outcome.details).toBe('OK');
  });

  it('health stays open', async () => {
    const health = new HealthClient(coordinator.address, credentials.createInsecure());
    expect(await health.check('saga.v1.Coordinator')).toBe('SERVING');
    health.close();
  });
});

describe('auth settings mistakes', () => {
  function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [COORDINATOR_MAIN],
        { env: { ...process.env, SAGA_LISTEN: '127.0.0.1:0', SAGA_DB: dir.file(`mistake-${Math.random()}.db`), ...env }, timeout: 30_000 },
        (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
  }
  const file = (content: unknown): string => {
    const path = dir.file(`config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(content));
    return path;
  };
  const cases: [string, Record<string, string>, string][] = [
    ['SAGA_OPERATOR_TOKEN set empty', { SAGA_OPERATOR_TOKEN: '' }, 'SAGA_OPERATOR_TOKEN'],
    ['"operatorToken": "" in the file', { SAGA_CONFIG: file({ operatorToken: '' }) }, 'operatorToken'],
    ['an empty client token', { SAGA_CLIENT_TOKENS: 'a,,b' }, 'SAGA_CLIENT_TOKENS'],
    ['an empty operator token list', { SAGA_OPERATOR_TOKENS: '' }, 'SAGA_OPERATOR_TOKENS'],
    ['a producer entry without a token', { SAGA_PRODUCER_TOKENS: 'stock:' }, 'SAGA_PRODUCER_TOKENS'],
    ['an empty token in the file', { SAGA_CONFIG: file({ auth: { tokens: { client: [''] } } }) }, 'auth.tokens.client'],
    ['mTLS identities without client certificates', { SAGA_CONFIG: file({ auth: { mtls: [{ identity: 'CN=x', role: 'client' }] } }) }, 'auth.mtls'],
  ];
  for (const [title, env, setting] of cases) {
    it(`${title}: exit 2 naming ${setting}`, async () => {
      const { code, stderr } = await run(env);
      expect(code).toBe(2);
      expect(stderr).toContain(setting);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});

describe('exposure warning', () => {
  const warnings = (logs: string): string[] => logs.split('\n').filter((l) => l.includes('reachable from other machines'));

  it('warns once when listening beyond loopback without TLS or tokens, and not on loopback', async () => {
    // Info level: "coordinator ready" is logged after the point where the warning would be.
    const exposed = await startCoordinator({ db: dir.file('exposed.db'), participants: {}, env: { SAGA_LISTEN: '0.0.0.0:0', SAGA_LOG_LEVEL: 'info' } });
    const local = await startCoordinator({ db: dir.file('local.db'), participants: {}, env: { SAGA_LOG_LEVEL: 'info' } });
    try {
      for (const c of [exposed, local]) await waitFor(() => c.logs().includes('coordinator ready'), `${c.address} to log "coordinator ready"`);
      const lines = warnings(exposed.logs());
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40 });
      expect(lines[0]).toContain('without TLS');
      expect(lines[0]).toContain('client, operator, producer');
      expect(warnings(local.logs())).toHaveLength(0);
    } finally {
      await exposed.stop();
      await local.stop();
    }
  });
});
