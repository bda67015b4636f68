// Calls any Coordinator RPC by name through the generated client and reports
// how it ended (status code, details, time), for tests that sweep every RPC.

import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  AbortSagaRequest,
  CommitMessageRequest,
  DropDeadLetterRequest,
  GetMessageRequest,
  GetSagaRequest,
  ListDeadLettersRequest,
  ListMessagesRequest,
  ListSagasRequest,
  PrepareMessageRequest,
  ReplayDeadLetterRequest,
  ResolveSagaRequest,
  RetrySagaRequest,
  RollbackMessageRequest,
  StartSagaRequest,
  WatchSagaRequest,
  type CoordinatorClient,
} from '@saga/proto';

export type RpcName =
  | 'startSaga'
  | 'getSaga'
  | 'listSagas'
  | 'watchSaga'
  | 'abortSaga'
  | 'retrySaga'
  | 'resolveSaga'
  | 'prepareMessage'
  | 'commitMessage'
  | 'rollbackMessage'
  | 'getMessage'
  | 'listMessages'
  | 'listDeadLetters'
  | 'replayDeadLetter'
  | 'dropDeadLetter';

// Each generated type's fromPartial fills in what a test leaves out.
const REQUEST_TYPES = {
  startSaga: StartSagaRequest,
  getSaga: GetSagaRequest,
  listSagas: ListSagasRequest,
  watchSaga: WatchSagaRequest,
  abortSaga: AbortSagaRequest,
  retrySaga: RetrySagaRequest,
  resolveSaga: ResolveSagaRequest,
  prepareMessage: PrepareMessageRequest,
  commitMessage: CommitMessageRequest,
  rollbackMessage: RollbackMessageRequest,
  getMessage: GetMessageRequest,
  listMessages: ListMessagesRequest,
  listDeadLetters: ListDeadLettersRequest,
  replayDeadLetter: ReplayDeadLetterRequest,
  dropDeadLetter: DropDeadLetterRequest,
} as unknown as Record<RpcName, { fromPartial(o: unknown): unknown }>;

export const RPC_NAMES = Object.keys(REQUEST_TYPES) as RpcName[];

export interface RpcOutcome {
  /** status.OK for an answer (WatchSaga: its first snapshot). */
  readonly code: status;
  readonly details: string;
  readonly ms: number;
  readonly response?: unknown;
}

type UnaryCallback = (err: ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: unknown, md: Metadata, options: { deadline: number }, cb: UnaryCallback) => void;

export function callRpc(
  client: CoordinatorClient,
  rpc: RpcName,
  request: Record<string, unknown>,
  options: { metadata?: Metadata; deadlineMs?: number } = {},
): Promise<RpcOutcome> {
  const req = (REQUEST_TYPES[rpc]).fromPartial(request);
  const metadata = options.metadata ?? new Metadata();
  const deadline = Date.now() + (options.deadlineMs ?? 10_000);
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  return new Promise((resolve) => {
    if (rpc === 'watchSaga') {
      const stream = client.watchSaga(req as WatchSagaRequest, metadata, { deadline });
      let done = false;
      stream.on('data', (msg: unknown) => {
        if (done) return;
        done = true;
        resolve({ code: status.OK, details: '', ms: elapsed(), response: msg });
        stream.cancel();
      });
      stream.on('error', (err: ServiceError) => {
        if (done) return;
        done = true;
        resolve({ code: err.code, details: err.details, ms: elapsed() });
      });
      return;
    }
    const method = (client as unknown as Record<string, UnaryMethod>)[rpc] as UnaryMethod;
    method.call(client, req, metadata, { deadline }, (err, res) =>
      resolve(err ? { code: err.code, details: err.details, ms: elapsed() } : { code: status.OK, details: '', ms: elapsed(), response: res }),
    );
  });
}

export function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}
