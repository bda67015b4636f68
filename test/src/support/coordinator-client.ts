// A promise-based Coordinator client over the generated code, for tests.

import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CoordinatorClient,
  SagaState,
  TransactionKind,
  type ListSagasRequest,
  type ListSagasResponse,
  type Saga,
  type StartSagaRequest,
  type WatchSagaResponse,
  type StartSagaResponse,
} from '@saga/proto';
import { waitFor } from './wait-for.js';

export class TestCoordinatorClient {
  private readonly client: CoordinatorClient;

  /** `token`: sent as "authorization: Bearer <token>" on every call. */
  constructor(
    address: string,
    private readonly token?: string,
  ) {
    this.client = new CoordinatorClient(address, credentials.createInsecure());
  }

  private metadata(): Metadata {
    const md = new Metadata();
    if (this.token !== undefined) md.set('authorization', `Bearer ${this.token}`);
    return md;
  }

  /**
   * StartSaga, tried again (like the SDK) while the coordinator sheds load:
   * RESOURCE_EXHAUSTED means nothing was created. Bounded: 10 attempts.
   */
  async start(req: Partial<StartSagaRequest> & Pick<StartSagaRequest, 'name' | 'steps'>): Promise<StartSagaResponse> {
    const full: StartSagaRequest = { sagaId: '', options: undefined, metadata: {}, waitMs: 0, kind: TransactionKind.TRANSACTION_KIND_SAGA, ...req };
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<StartSagaResponse>((resolve, reject) =>
          this.client.startSaga(full, this.metadata(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res))),
        );
      } catch (err) {
        if ((err as ServiceError).code !== status.RESOURCE_EXHAUSTED || attempt >= 10) throw err;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  get(sagaId: string): Promise<Saga> {
    return new Promise((resolve, reject) =>
      this.client.getSaga({ sagaId }, this.metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
        err ? reject(err) : res.saga ? resolve(res.saga) : reject(new Error('no saga')),
      ),
    );
  }

  abort(sagaId: string, reason: string): Promise<SagaState> {
    return new Promise((resolve, reject) =>
      this.client.abortSaga({ sagaId, reason }, (err, res) => (err ? reject(err) : resolve(res.state))),
    );
  }

  retry(sagaId: string): Promise<SagaState> {
    return new Promise((resolve, reject) => this.client.retrySaga({ sagaId }, (err, res) => (err ? reject(err) : resolve(res.state))));
  }

  resolve(sagaId: string, note: string): Promise<SagaState> {
    return new Promise((resolve, reject) =>
      this.client.resolveSaga({ sagaId, note }, (err, res) => (err ? reject(err) : resolve(res.state))),
    );
  }

  /** Polls GetSaga until the saga is in one of `states`. */
  waitForState(sagaId: string, states: SagaState[], timeoutMs = 20_000): Promise<Saga> {
    let last: Saga | undefined;
    return waitFor(
      async () => {
        last = await this.get(sagaId).catch(() => undefined);
        return last !== undefined && states.includes(last.state) && last;
      },
      () => `saga ${sagaId} in ${states.map((s) => SagaState[s]).join('/')} (now ${last ? SagaState[last.state] : 'missing'})`,
      timeoutMs,
      25,
    );
  }

  list(req: Partial<ListSagasRequest>): Promise<ListSagasResponse> {
    const full: ListSagasRequest = { states: [], name: '', createdAfter: undefined, createdBefore: undefined, pageSize: 0, pageToken: '', ...req };
    return new Promise((resolve, reject) => this.client.listSagas(full, (err, res) => (err ? reject(err) : resolve(res))));
  }

  /** Every snapshot WatchSaga streams, until the server ends the stream. */
  watch(sagaId: string): Promise<Saga[]> {
    return new Promise((resolve, reject) => {
      const seen: Saga[] = [];
      const stream = this.client.watchSaga({ sagaId }, this.metadata(), { deadline: Date.now() + 60_000 });
      stream.on('data', (msg: WatchSagaResponse) => {
        if (msg.saga) seen.push(msg.saga);
      });
      stream.on('end', () => resolve(seen));
      stream.on('error', reject);
    });
  }

  close(): void {
    this.client.close();
  }
}
