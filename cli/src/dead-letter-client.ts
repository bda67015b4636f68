// The outbox's dead letters (ListDeadLetters, ReplayDeadLetter,
// DropDeadLetter). The SDK has no client for these operator calls, so the CLI
// calls the generated client; errors are SagaClientErrors as the SDK's are.

import { Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { CoordinatorClient, type DeadLetter, type ListDeadLettersResponse } from '@saga/proto';
import { SagaClientError } from '@saga/sdk';

export interface DeadLetterRecord {
  eventId: string;
  subject: string;
  orderingKey: string;
  payloadBytes: number;
  createdAt: Date | undefined;
  failedAt: Date | undefined;
  attempts: number;
  error: string;
  waitingBehind: number;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;

export class DeadLetterClient {
  private readonly client: CoordinatorClient;

  constructor(
    address: string,
    credentials: ChannelCredentials,
    private readonly metadata: Readonly<Record<string, string>>,
    private readonly deadlineMs: number,
  ) {
    this.client = new CoordinatorClient(address, credentials);
  }

  /** Every dead letter, oldest first (follows pages). */
  async list(): Promise<DeadLetterRecord[]> {
    const out: DeadLetterRecord[] = [];
    let pageToken = '';
    do {
      const page = await this.call<ListDeadLettersResponse>('ListDeadLetters', (md, opts, cb) => this.client.listDeadLetters({ pageSize: 1000, pageToken }, md, opts, cb));
      out.push(...page.deadLetters.map(fromProto));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return out;
  }

  async replay(eventId: string): Promise<void> {
    await this.call('ReplayDeadLetter', (md, opts, cb) => this.client.replayDeadLetter({ eventId }, md, opts, cb));
  }

  async drop(eventId: string): Promise<void> {
    await this.call('DropDeadLetter', (md, opts, cb) => this.client.dropDeadLetter({ eventId }, md, opts, cb));
  }

  close(): void {
    this.client.close();
  }

  private call<Res>(method: string, invoke: (md: Metadata, options: { deadline: Date }, cb: Callback<Res>) => unknown): Promise<Res> {
    const md = new Metadata();
    for (const [k, v] of Object.entries(this.metadata)) md.set(k, v);
    return new Promise((resolve, reject) => {
      invoke(md, { deadline: new Date(Date.now() + this.deadlineMs) }, (err, res) => {
        if (err) reject(new SagaClientError(method, err.code, err.details));
        else resolve(res);
      });
    });
  }
}

function fromProto(d: DeadLetter): DeadLetterRecord {
  return {
    eventId: d.eventId,
    subject: d.subject,
    orderingKey: d.orderingKey,
    payloadBytes: d.payloadBytes,
    createdAt: d.createdAt,
    failedAt: d.failedAt,
    attempts: d.attempts,
    error: d.error,
    waitingBehind: d.waitingBehind,
  };
}
