// Participant.CheckTransaction over gRPC: one channel per producer, reused;
// every call carries its deadline and follows the caller's AbortSignal.

import { Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CheckTransactionRequest, CheckTransactionResponse, TransactionStatus } from '@saga/proto';
import { statusName } from '../grpc/status-map.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import type { CheckCall, CheckInvoker } from './check-invoker.js';
import type { CheckAnswer } from './message-types.js';

const CHECK_PATH = '/saga.v1.Participant/CheckTransaction';
const encode = (r: CheckTransactionRequest): Buffer => Buffer.from(CheckTransactionRequest.encode(r).finish());
const decode = (b: Buffer): CheckTransactionResponse => CheckTransactionResponse.decode(b);

export class GrpcCheckInvoker implements CheckInvoker {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly registry: ParticipantRegistry) {}

  check(call: CheckCall, signal: AbortSignal): Promise<CheckAnswer> {
    const client = this.client(call.producer);
    if (client === undefined) {
      return Promise.resolve({ kind: 'error', code: 'UNKNOWN_PARTICIPANT', message: `producer "${call.producer}" is not registered` });
    }
    if (signal.aborted) return Promise.resolve({ kind: 'error', code: 'CANCELLED', message: 'the coordinator is stopping' });
    const request: CheckTransactionRequest = {
      messageId: call.messageId,
      key: call.key,
      subject: call.subject,
      headers: { ...call.headers },
      check: call.check,
    };
    return new Promise<CheckAnswer>((resolve) => {
      const done = (err: ServiceError | null, res?: CheckTransactionResponse): void => {
        signal.removeEventListener('abort', onAbort);
        if (err) resolve({ kind: 'error', code: statusName(err.code), message: err.details || err.message });
        else resolve(answerOf(res?.status));
      };
      const grpcCall = client.makeUnaryRequest(CHECK_PATH, encode, decode, request, new Metadata(), { deadline: new Date(call.deadline) }, done);
      const onAbort = (): void => grpcCall.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    return Promise.resolve();
  }

  private client(producer: string): Client | undefined {
    let client = this.clients.get(producer);
    if (client === undefined) {
      // Producers must be registered by name; raw addresses are never dialled for check-backs.
      if (this.registry.check(producer) !== 'registered') return undefined;
      const ep = this.registry.resolve(producer);
      if (ep === undefined) return undefined;
      client = new Client(ep.address, ep.credentials, { 'grpc.enable_retries': 0, 'grpc.keepalive_time_ms': 30_000 });
      this.clients.set(producer, client);
    }
    return client;
  }
}

function answerOf(status: TransactionStatus | undefined): CheckAnswer {
  switch (status) {
    case TransactionStatus.TRANSACTION_STATUS_COMMIT:
      return { kind: 'COMMIT' };
    case TransactionStatus.TRANSACTION_STATUS_ROLLBACK:
      return { kind: 'ROLLBACK' };
    default:
      // UNKNOWN and UNSPECIFIED (the contract: UNSPECIFIED = UNKNOWN).
      return { kind: 'UNKNOWN' };
  }
}
