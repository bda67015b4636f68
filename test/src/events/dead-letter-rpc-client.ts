// Promise-based dead-letter operator calls over the generated Coordinator
// client, for tests (every call has a deadline).

import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { CoordinatorClient, type ListDeadLettersResponse } from '@saga/proto';

export class DeadLetterRpcClient {
  private readonly client: CoordinatorClient;

  constructor(address: string) {
    this.client = new CoordinatorClient(address, credentials.createInsecure());
  }

  list(pageSize = 0, pageToken = ''): Promise<ListDeadLettersResponse> {
    return this.call((cb) => this.client.listDeadLetters({ pageSize, pageToken }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
  }

  replay(eventId: string): Promise<unknown> {
    return this.call((cb) => this.client.replayDeadLetter({ eventId }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
  }

  drop(eventId: string): Promise<unknown> {
    return this.call((cb) => this.client.dropDeadLetter({ eventId }, new Metadata(), { deadline: Date.now() + 10_000 }, cb));
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
