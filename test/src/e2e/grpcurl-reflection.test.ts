// grpcurl, knowing nothing but what server reflection serves: it describes
// every service and calls StartSaga (with wait), GetSaga, ListSagas, WatchSaga
// and grpc.health.v1.Health/Check. The README's grpcurl commands are run as
// printed there (only the address differs). grpcurl is built from its Go
// module at a pinned version by scripts/test-all.sh into .tools/bin.

import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { REPO_ROOT } from '../support/repo-paths.js';
import { testDir } from '../support/test-dir.js';

const GRPCURL = join(REPO_ROOT, '.tools', 'bin', 'grpcurl');
const README_ADDRESS = '127.0.0.1:50051';
const dir = testDir('grpcurl-reflection');
let orders: ManagedProcess;
let coordinator: ManagedProcess;

function grpcurl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(GRPCURL, [...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
}

/** The arguments of each `grpcurl …` line of the README's example, single-quoted arguments kept whole. */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /so `grpcurl` works:\n\n```bash\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md: the grpcurl example block is missing');
  return block
    .split('\n')
    .filter((line) => line.startsWith('grpcurl '))
    .map((line) => [...line.slice('grpcurl '.length).matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? ''));
}

beforeAll(async () => {
  if (!existsSync(GRPCURL)) throw new Error(`${GRPCURL} is missing: scripts/test-all.sh installs it (go install github.com/fullstorydev/grpcurl/cmd/grpcurl)`);
  orders = await startTsParticipant('orders', { db: dir.file('orders.db') });
  coordinator = await startCoordinator({ db: dir.file('c.db'), participants: { orders: orders.address } });
});

afterAll(async () => {
  await coordinator?.stop();
  await orders?.stop();
  dir.remove();
});

describe('grpcurl through server reflection', () => {
  it('runs the README example as printed', async () => {
    const commands = readmeCommands();
    expect(commands.length).toBeGreaterThanOrEqual(5);
    const outputs: string[] = [];
    for (const args of commands) {
      const run = await grpcurl(args.map((a) => (a === README_ADDRESS ? coordinator.address : a)));
      expect(run.code, `grpcurl ${args.join(' ')}\n${run.stderr}`).toBe(0);
      outputs.push(run.stdout);
    }
    const all = outputs.join('\n');
    expect(all).toContain('saga.v1.Coordinator');
    expect(all).toContain('"outcome": "SAGA_OUTCOME_COMPLETED"');
    expect(all).toContain('"state": "SAGA_STATE_COMPLETED"');
    expect(all).toContain('"status": "SERVING"');
  });

  it('describes every service and the types they use', async () => {
    const list = await grpcurl(['-plaintext', coordinator.address, 'list']);
    expect(list.code, list.stderr).toBe(0);
    const services = list.stdout.trim().split('\n');
    expect(services).toEqual(expect.arrayContaining(['saga.v1.Coordinator', 'grpc.health.v1.Health']));
    for (const symbol of [...services, 'saga.v1.StartSagaRequest', 'saga.v1.Saga', 'saga.v1.ListSagasRequest', 'grpc.health.v1.HealthListResponse', 'saga.v1.TransactionalMessage']) {
      const run = await grpcurl(['-plaintext', coordinator.address, 'describe', symbol]);
      expect(run.code, `describe ${symbol}: ${run.stderr}`).toBe(0);
    }
  });

  it('calls StartSaga with wait, GetSaga, ListSagas, WatchSaga and Health/Check', async () => {
    const call = async (method: string, body: unknown): Promise<string> => {
      const run = await grpcurl(['-plaintext', '-d', JSON.stringify(body), coordinator.address, method]);
      expect(run.code, `${method}: ${run.stderr}`).toBe(0);
      return run.stdout;
    };
    const started = JSON.parse(
      await call('saga.v1.Coordinator/StartSaga', {
        saga_id: 'grpcurl-1',
        name: 'grpcurl',
        steps: [{ name: 'create', participant: 'orders', action: 'create', compensate_action: 'cancel', payload: Buffer.from('{"userId":"u2"}').toString('base64') }],
        wait_ms: 10_000,
      }),
    ) as { outcome: string };
    expect(started.outcome).toBe('SAGA_OUTCOME_COMPLETED');
    expect(JSON.parse(await call('saga.v1.Coordinator/GetSaga', { saga_id: 'grpcurl-1' }))).toMatchObject({ saga: { sagaId: 'grpcurl-1', state: 'SAGA_STATE_COMPLETED' } });
    const listed = JSON.parse(await call('saga.v1.Coordinator/ListSagas', { name: 'grpcurl', created_after: '2020-01-01T00:00:00Z' })) as { sagas: { sagaId: string }[] };
    expect(listed.sagas.map((s) => s.sagaId)).toEqual(['grpcurl-1']);
    expect(await call('saga.v1.Coordinator/WatchSaga', { saga_id: 'grpcurl-1' })).toContain('"state": "SAGA_STATE_COMPLETED"');
    expect(JSON.parse(await call('grpc.health.v1.Health/Check', { service: '' }))).toEqual({ status: 'SERVING' });
  });
});
