// Promise-based transactional-message calls over the generated Coordinator
// client, for tests (every call has a deadline).

import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  CoordinatorClient,
  type CommitMessageResponse,
  type PrepareMessageRequest,
  type PrepareMessageResponse,
  type RollbackMessageResponse,
  type TransactionalMessage,
} from '@saga/proto';

export class MessageRpcClient {
  private readonly client: CoordinatorClient;

  constructor(address: string) {
    this.client = new CoordinatorClient(address, credentials.createInsecure());
  }

  prepare(req: Partial<PrepareMessageRequest> & Pick<PrepareMessageRequest, 'subject' | 'producer'>): Promise<PrepareMessageResponse> {
    const full: PrepareMessageRequest = {
      messageId: '',
      key: '',
      payload: Buffer.alloc(0),
      headers: {},
      checkPolicy: undefined,
      deliverAt: undefined,
      ...req,
    };
    return this.call((cb) => this.client.prepareMessage(full, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
  }

  commit(messageId: string): Promise<CommitMessageResponse> {
    return this.call((cb) => this.client.commitMessage({ messageId }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
  }

  rollback(messageId: string, reason = ''): Promise<RollbackMessageResponse> {
    return this.call((cb) => this.client.rollbackMessage({ messageId, reason }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
  }

  async get(messageId: string): Promise<TransactionalMessage> {
    const res = await this.call<{ message?: TransactionalMessage }>((cb) =>
      this.client.getMessage({ messageId }, new Metadata(), { deadline: Date.now() + 10_000 }, cb),
    );
    if (res.message === undefined) throw new Error('GetMessage answered without a message');
    return res.message;
  }

  close(): void {
    this.client.close();
  }

  private call<T>(invoke: (cb: (err: ServiceError | null, res: T) => void) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      invoke((err, res) => (err ? reject(err) : resolve(res)));
    });
  }
}

/** The gRPC error a call rejected with (or throws when it did not). */
export async function grpcError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    if (typeof (err as ServiceError).code === 'number') return err as ServiceError;
    throw err;
  }
  throw new Error('the call succeeded');
}
