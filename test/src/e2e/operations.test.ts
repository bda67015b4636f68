// Operating the coordinator: configuration errors name the setting and stop
// the start; the operator token guards operator RPCs; SIGTERM drains and
// exits 0; a restart resumes on the same file.

import { status } from '@grpc/grpc-js';
import { AttemptOutcome, SagaOutcome, SagaState } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import { ManagedProcess } from '../support/managed-process.js';
import { COORDINATOR_MAIN } from '../support/repo-paths.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { idFor, testDir } from '../support/test-dir.js';
import { fourSteps, INITIAL_STOCK, startOrderScenario, type OrderScenario } from '../support/order-scenario.js';
import { scalar } from '../support/sqlite-inspect.js';
import { credentials, Metadata } from '@grpc/grpc-js';
import { CoordinatorClient } from '@saga/proto';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

describe('operations', () => {
  it('refuses to start on an invalid setting, naming it, with exit code 2', async () => {
    const dir = testDir('bad config');
    cleanups.push(() => dir.remove());
    const start = ManagedProcess.start({
      name: 'coordinator',
      command: process.execPath,
      args: [COORDINATOR_MAIN],
      env: { SAGA_LISTEN: '127.0.0.1:0', SAGA_DB: dir.file('c.db'), SAGA_SYNCHRONOUS: 'sometimes' },
    });
    await expect(start).rejects.toThrow(/exited \(2\)[\s\S]*database\.synchronous/);
  });

  it('requires the operator token for operator calls when one is configured', async () => {
    const dir = testDir('operator token');
    const coordinator = await startCoordinator({ db: dir.file('c.db'), participants: {}, env: { SAGA_OPERATOR_TOKEN: 's3cret' } });
    const raw = new CoordinatorClient(coordinator.address, credentials.createInsecure());
    cleanups.push(() => dir.remove(), async () => void (await coordinator.stop()), () => raw.close());
    const abort = (md: Metadata): Promise<unknown> =>
      new Promise((resolve, reject) => raw.abortSaga({ sagaId: 'x', reason: '' }, md, (err, res) => (err ? reject(err) : resolve(res))));
    await expect(abort(new Metadata())).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const wrong = new Metadata();
    wrong.set('authorization', 'Bearer nope');
    await expect(abort(wrong)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const right = new Metadata();
    right.set('authorization', 'Bearer s3cret');
    // Authorised: now the saga id is what is wrong.
    await expect(abort(right)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('drains on SIGTERM, exits 0, and a restart on the same file answers for earlier sagas', async () => {
    const sc: OrderScenario = await startOrderScenario('sigterm');
    cleanups.push(() => sc.close());
    const sagaId = idFor('sigterm');
    const r = await sc.client.start({ sagaId, name: 'place-order', steps: fourSteps(), waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
    const slow = idFor('sigterm slow');
    await sc.client.start({ sagaId: slow, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'sleep-before=300' } } }) });
    sc.client.close();
    const exit = await sc.coordinator.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    // Drained, not abandoned: nothing was cut off or left for the restart to re-send.
    expect(sc.coordinator.logs()).not.toMatch(/drain timed out|shutdown failed/);
    await sc.restartCoordinator();
    expect((await sc.client.get(sagaId)).state).toBe(SagaState.SAGA_STATE_COMPLETED);
    const finished = await sc.client.waitForState(slow, [SagaState.SAGA_STATE_COMPLETED]);
    expect(finished.state).toBe(SagaState.SAGA_STATE_COMPLETED);
    // The shutdown recorded no cut-off call as a failed attempt: each step has its one attempt, and it succeeded
    // (a dispatch committed after SIGTERM was not sent then: the restart re-sent it, same attempt).
    for (const s of finished.steps) expect(s.attempts).toMatchObject([{ number: 1, outcome: AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED }]);
    expect(await scalar(sc.db('stock'), "SELECT COUNT(*) FROM saga_barrier WHERE saga_id = ? AND op = 'execute'", [slow])).toBe(1);
    expect(await scalar(sc.db('stock'), "SELECT quantity FROM stock WHERE sku = 'sku-1'")).toBe(INITIAL_STOCK - 2 * 2);
    const again = new TestCoordinatorClient(sc.coordinator.address);
    cleanups.push(() => again.close());
    expect((await again.start({ sagaId, name: 'place-order', steps: fourSteps() })).created).toBe(false);
  });
});
