import { Server, ServerCredentials, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  AttemptOutcome,
  CompensationStatus,
  CoordinatorService,
  ForwardStatus,
  Operation,
  SagaOutcome,
  SagaState,
  StepStatus,
  TccPhase,
  TransactionKind,
  type CoordinatorServer,
  type ListSagasRequest,
  type Saga,
  type StartSagaRequest,
} from '@saga/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SagaClient } from './saga-client.js';
import { SagaClientError } from './saga-client-error.js';

/** A fake coordinator that records requests and answers from canned data. */
interface Fake {
  starts: StartSagaRequest[];
  lists: ListSagasRequest[];
  deadlines: number[];
  /** Snapshots streamed by WatchSaga, with a delay between them. */
  watchSnapshots: Saga[];
  watchDelayMs: number;
  /** WatchSaga calls answered UNAVAILABLE before streaming. */
  watchFailures: number;
  /** StartSaga calls answered RESOURCE_EXHAUSTED (shed) before accepting. */
  shedStarts: number;
  metadata: Record<string, unknown>[];
}

let server: Server;
let address: string;
let client: SagaClient;
let fake: Fake;

function saga(state: SagaState, version: number): Saga {
  return {
    sagaId: 'saga-1',
    name: 'place-order',
    state,
    forwardStatus: ForwardStatus.FORWARD_STATUS_RUNNING,
    compensationStatus: CompensationStatus.COMPENSATION_STATUS_NOT_NEEDED,
    steps: [
      {
        definition: {
          name: 'create-order',
          participant: 'orders',
          action: 'create',
          compensateAction: 'cancel',
          payload: Buffer.from('{"userId":"user-1"}'),
          dependsOn: [],
          noCompensation: false,
          retry: { maxAttempts: 3, attemptTimeoutMs: 500, initialBackoffMs: 0, maxBackoffMs: 0, backoffMultiplier: 0 },
          compensationRetry: undefined,
          metadata: { k: 'v' },
        },
        executeStatus: StepStatus.STEP_STATUS_SUCCEEDED,
        compensateStatus: StepStatus.STEP_STATUS_PENDING,
        output: Buffer.from('{"orderId":"o-1"}'),
        attempts: [
          {
            operation: Operation.OPERATION_EXECUTE,
            number: 1,
            startedAt: new Date(1_000),
            finishedAt: new Date(2_000),
            outcome: AttemptOutcome.ATTEMPT_OUTCOME_ERROR,
            errorCode: 'UNAVAILABLE',
            errorMessage: 'down',
            resent: 0,
          },
        ],
        nextAttemptAt: undefined,
        confirmStatus: StepStatus.STEP_STATUS_UNSPECIFIED,
      },
    ],
    options: { deadlineMs: 0, defaultRetry: undefined, defaultCompensationRetry: undefined },
    metadata: { tenant: 't-1' },
    createdAt: new Date(1_000),
    updatedAt: new Date(3_000),
    finishedAt: undefined,
    deadline: undefined,
    failedStep: '',
    failureReason: '',
    resolutionNote: '',
    kind: TransactionKind.TRANSACTION_KIND_SAGA,
    phase: TccPhase.TCC_PHASE_UNSPECIFIED,
    version,
  };
}

beforeEach(async () => {
  fake = { starts: [], lists: [], deadlines: [], watchSnapshots: [], watchDelayMs: 10, watchFailures: 0, shedStarts: 0, metadata: [] };
  const recordDeadline = (deadline: Date | number): void => {
    fake.deadlines.push(deadline instanceof Date ? deadline.getTime() : deadline);
  };
  const implementation: Partial<CoordinatorServer> = {
    startSaga: (call, callback) => {
      recordDeadline(call.getDeadline());
      fake.metadata.push(call.metadata.getMap());
      fake.starts.push(call.request);
      if (fake.shedStarts > 0) {
        fake.shedStarts -= 1;
        callback({ code: status.RESOURCE_EXHAUSTED, details: 'the coordinator is overloaded' });
        return;
      }
      callback(null, {
        sagaId: call.request.sagaId || 'generated-1',
        created: true,
        state: SagaState.SAGA_STATE_COMPLETED,
        outcome: SagaOutcome.SAGA_OUTCOME_COMPLETED,
        failedStep: '',
        failureReason: '',
      });
    },
    getSaga: (call, callback) => {
      recordDeadline(call.getDeadline());
      if (call.request.sagaId !== 'saga-1') {
        callback({ code: status.NOT_FOUND, details: `saga "${call.request.sagaId}" not found` });
        return;
      }
      callback(null, { saga: saga(SagaState.SAGA_STATE_RUNNING, 4) });
    },
    listSagas: (call, callback) => {
      fake.lists.push(call.request);
      callback(null, {
        sagas: [
          {
            sagaId: 'saga-1',
            name: 'place-order',
            kind: TransactionKind.TRANSACTION_KIND_SAGA,
            state: SagaState.SAGA_STATE_MANUAL,
            createdAt: new Date(1_000),
            updatedAt: new Date(2_000),
            finishedAt: undefined,
            failedStep: 'deduct-points',
            failureReason: 'INSUFFICIENT_POINTS',
          },
        ],
        nextPageToken: 'next',
      });
    },
    watchSaga: (call) => {
      recordDeadline(call.getDeadline());
      if (fake.watchFailures > 0) {
        fake.watchFailures -= 1;
        call.emit('error', { code: status.UNAVAILABLE, details: 'restarting' });
        return;
      }
      const snapshots = [...fake.watchSnapshots];
      const send = (): void => {
        if (call.cancelled) return;
        const next = snapshots.shift();
        if (next === undefined) {
          call.end();
          return;
        }
        call.write({ saga: next });
        setTimeout(send, fake.watchDelayMs);
      };
      send();
    },
    abortSaga: (call, callback) => callback(null, { state: SagaState.SAGA_STATE_COMPENSATING }),
    retrySaga: (call, callback) =>
      callback({ code: status.FAILED_PRECONDITION, details: 'saga is not MANUAL' }),
    resolveSaga: (call, callback) => callback(null, { state: SagaState.SAGA_STATE_RESOLVED }),
  };
  server = new Server();
  server.addService(CoordinatorService, implementation as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
  client = new SagaClient({ address, defaultDeadlineMs: 2_000, callMetadata: { 'x-token': 'secret' } });
});

afterEach(() => {
  client.close();
  server.forceShutdown();
});

async function clientError(promise: Promise<unknown>): Promise<SagaClientError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SagaClientError) return err;
    throw err;
  }
  throw new Error('expected a SagaClientError');
}

describe('SagaClient', () => {
  it('starts a saga from the fluent builder, encoding payloads, policies and metadata', async () => {
    const before = Date.now();
    const result = await client
      .saga('place-order')
      .step('create-order', {
        participant: 'orders',
        action: 'create',
        compensateAction: 'cancel',
        payload: { userId: 'user-1' },
        retry: { maxAttempts: 3, attemptTimeoutMs: 500 },
      })
      .step('deduct-stock', { participant: 'stock', action: 'deduct', compensateAction: 'restore', payload: 'raw text', dependsOn: ['create-order'] })
      .step('notify', { participant: 'notification', action: 'send', payload: new Uint8Array([1, 2]), noCompensation: true, metadata: { channel: 'sms' } })
      .options({ deadlineMs: 30_000, defaultCompensationRetry: { maxAttempts: 10, backoffMultiplier: 2 } })
      .metadata({ tenant: 't-1' })
      .start({ sagaId: 'order-42', waitMs: 1_000 });

    expect(result).toEqual({
      sagaId: 'order-42',
      created: true,
      state: 'COMPLETED',
      outcome: 'COMPLETED',
      failedStep: '',
      failureReason: '',
    });
    const request = fake.starts[0];
    expect(request).toMatchObject({ sagaId: 'order-42', name: 'place-order', waitMs: 1_000, metadata: { tenant: 't-1' } });
    expect(request?.options).toMatchObject({ deadlineMs: 30_000, defaultCompensationRetry: { maxAttempts: 10, backoffMultiplier: 2 } });
    expect(request?.steps.map((s) => s.name)).toEqual(['create-order', 'deduct-stock', 'notify']);
    expect(request?.steps[0]).toMatchObject({ compensateAction: 'cancel', retry: { maxAttempts: 3, attemptTimeoutMs: 500 } });
    expect(Buffer.from(request?.steps[0]?.payload ?? []).toString()).toBe('{"userId":"user-1"}');
    expect(Buffer.from(request?.steps[1]?.payload ?? []).toString()).toBe('raw text');
    expect(request?.steps[1]?.dependsOn).toEqual(['create-order']);
    expect([...(request?.steps[2]?.payload ?? [])]).toEqual([1, 2]);
    expect(request?.steps[2]).toMatchObject({ noCompensation: true, metadata: { channel: 'sms' } });
    // The call deadline covers the wait: default 2000 ms + waitMs.
    const deadline = fake.deadlines[0] ?? 0;
    expect(deadline).toBeGreaterThan(before + 2_500);
    expect(deadline).toBeLessThan(before + 3_500);
    expect(fake.metadata[0]?.['x-token']).toBe('secret');
  });

  it('refuses an invalid definition before calling', async () => {
    await expect(
      client
        .saga('s')
        .step('a', { participant: 'p', action: 'x' })
        .step('a', { participant: 'p', action: 'y' })
        .start(),
    ).rejects.toThrow(/steps\[1\]\.name must be unique/);
    await expect(
      client.saga('s').step('a', { participant: 'p', action: 'x', retry: { maxAttempts: -1 } }).start(),
    ).rejects.toThrow(/steps\[0\]\.retry\.maxAttempts/);
    await expect(client.saga('s').start()).rejects.toThrow(/steps must be a non-empty array/);
    expect(fake.starts).toHaveLength(0);
  });

  it('gets the full record as domain types', async () => {
    const record = await client.get('saga-1');
    expect(record).toMatchObject({
      sagaId: 'saga-1',
      state: 'RUNNING',
      forwardStatus: 'RUNNING',
      compensationStatus: 'NOT_NEEDED',
      metadata: { tenant: 't-1' },
      version: 4,
      finishedAt: undefined,
    });
    expect(record.createdAt).toEqual(new Date(1_000));
    const step = record.steps[0];
    expect(step).toMatchObject({
      name: 'create-order',
      participant: 'orders',
      action: 'create',
      compensateAction: 'cancel',
      executeStatus: 'SUCCEEDED',
      compensateStatus: 'PENDING',
      retry: { maxAttempts: 3, attemptTimeoutMs: 500 },
      compensationRetry: undefined,
    });
    expect(step?.output.toString()).toBe('{"orderId":"o-1"}');
    expect(step?.attempts).toEqual([
      {
        operation: 'EXECUTE',
        number: 1,
        startedAt: new Date(1_000),
        finishedAt: new Date(2_000),
        outcome: 'ERROR',
        errorCode: 'UNAVAILABLE',
        errorMessage: 'down',
        resent: 0,
      },
    ]);
  });

  it('surfaces gRPC errors as SagaClientError with the status code, name and details', async () => {
    const notFound = await clientError(client.get('nope'));
    expect(notFound).toMatchObject({ code: status.NOT_FOUND, codeName: 'NOT_FOUND', details: 'saga "nope" not found', method: 'GetSaga' });
    const precondition = await clientError(client.retry('saga-1'));
    expect(precondition.codeName).toBe('FAILED_PRECONDITION');
  });

  it('lists with a filter and maps the page', async () => {
    const page = await client.list({
      states: ['MANUAL', 'COMPENSATING'],
      name: 'place-order',
      createdAfter: new Date(500),
      pageSize: 10,
      pageToken: 'tok',
    });
    expect(fake.lists[0]).toMatchObject({
      states: [SagaState.SAGA_STATE_MANUAL, SagaState.SAGA_STATE_COMPENSATING],
      name: 'place-order',
      createdAfter: new Date(500),
      createdBefore: undefined,
      pageSize: 10,
      pageToken: 'tok',
    });
    expect(page).toEqual({
      sagas: [
        {
          sagaId: 'saga-1',
          name: 'place-order',
          kind: 'SAGA',
          state: 'MANUAL',
          createdAt: new Date(1_000),
          updatedAt: new Date(2_000),
          finishedAt: undefined,
          failedStep: 'deduct-points',
          failureReason: 'INSUFFICIENT_POINTS',
        },
      ],
      nextPageToken: 'next',
    });
  });

  it('watches snapshots until the saga settles', async () => {
    fake.watchSnapshots = [saga(SagaState.SAGA_STATE_RUNNING, 1), saga(SagaState.SAGA_STATE_COMPENSATING, 2), saga(SagaState.SAGA_STATE_COMPENSATED, 3)];
    const seen: string[] = [];
    for await (const snapshot of client.watch('saga-1')) seen.push(`${snapshot.version}:${snapshot.state}`);
    expect(seen).toEqual(['1:RUNNING', '2:COMPENSATING', '3:COMPENSATED']);
  });

  it('stops a watch when its signal aborts', async () => {
    fake.watchSnapshots = Array.from({ length: 50 }, (_, i) => saga(SagaState.SAGA_STATE_RUNNING, i));
    fake.watchDelayMs = 20;
    const controller = new AbortController();
    const seen: number[] = [];
    const iterate = async (): Promise<void> => {
      for await (const snapshot of client.watch('saga-1', { signal: controller.signal })) {
        seen.push(snapshot.version);
        if (seen.length === 2) controller.abort(new Error('enough'));
      }
    };
    await expect(iterate()).rejects.toThrow('enough');
    expect(seen).toEqual([0, 1]);
  });

  it('waits for the outcome, or answers STILL_RUNNING when the timeout passes first', async () => {
    fake.watchSnapshots = [saga(SagaState.SAGA_STATE_RUNNING, 1), saga(SagaState.SAGA_STATE_COMPLETED, 2)];
    const done = await client.waitForOutcome('saga-1', { timeoutMs: 2_000 });
    expect(done.outcome).toBe('COMPLETED');
    expect(done.saga?.version).toBe(2);

    fake.watchSnapshots = Array.from({ length: 50 }, (_, i) => saga(SagaState.SAGA_STATE_RUNNING, i));
    fake.watchDelayMs = 50;
    const started = Date.now();
    const pending = await client.waitForOutcome('saga-1', { timeoutMs: 300 });
    expect(pending.outcome).toBe('STILL_RUNNING');
    expect(pending.saga?.state).toBe('RUNNING');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps waiting across UNAVAILABLE watch streams', async () => {
    fake.watchFailures = 2;
    fake.watchSnapshots = [saga(SagaState.SAGA_STATE_MANUAL, 7)];
    const result = await client.waitForOutcome('saga-1', { timeoutMs: 5_000 });
    expect(result).toMatchObject({ sagaId: 'saga-1', outcome: 'MANUAL' });
    expect(fake.watchFailures).toBe(0);
  });

  it('surfaces watch errors as SagaClientError', async () => {
    fake.watchFailures = 1;
    let seen = 0;
    const iterate = async (): Promise<void> => {
      for await (const snapshot of client.watch('saga-1')) seen += snapshot.version;
    };
    const err = await clientError(iterate());
    expect(seen).toBe(0);
    expect(err).toMatchObject({ codeName: 'UNAVAILABLE', method: 'WatchSaga', details: 'restarting' });
  });

  it('aborts, retries and resolves, answering the new state', async () => {
    expect(await client.abort('saga-1', 'customer cancelled')).toBe('COMPENSATING');
    expect(await client.resolve('saga-1', 'refunded by hand')).toBe('RESOLVED');
  });

  it('cancels a unary call when its signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(client.get('saga-1', { signal: controller.signal })).rejects.toThrow('stop');
  });

  it('tries a shed StartSaga again (nothing was created), up to startAttempts', async () => {
    const definition = client.saga('place-order').step('create-order', { participant: 'orders', action: 'create' }).definition();
    fake.shedStarts = 2;
    const r = await client.startSaga(definition, { sagaId: 'order-9' });
    expect(r.sagaId).toBe('order-9');
    expect(fake.starts).toHaveLength(3);

    const once = new SagaClient({ address, startAttempts: 2, startBackoffMs: 1 });
    try {
      fake.starts = [];
      fake.shedStarts = 5;
      const err = await once.startSaga(definition).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SagaClientError);
      expect((err as SagaClientError).codeName).toBe('RESOURCE_EXHAUSTED');
      expect(fake.starts).toHaveLength(2);
    } finally {
      once.close();
    }
  });

  it('validates its options', () => {
    expect(() => new SagaClient({ address: '' })).toThrow(/"address"/);
    expect(() => new SagaClient({ address: 'x:1', defaultDeadlineMs: 0 })).toThrow(/"defaultDeadlineMs"/);
  });

  it('rejects calls after close()', async () => {
    client.close();
    await expect(client.get('saga-1')).rejects.toThrow(/closed/);
  });
});
