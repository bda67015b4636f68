// A participant inside the test process that records every request it gets
// (the participant's own record of what arrived, and when) and applies each
// idempotency key at most once, answering duplicates with the stored result,
// as a barrier does. Actions:
//   execute  ok     SUCCEEDED, output "applied <key> #<n>" (n counts applications)
//            hold   held until release(step), then as ok; a duplicate of a held
//                   key waits for the same answer
//   compensate      SUCCEEDED

import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  CheckTransactionResponse,
  ParticipantService,
  StepOutcome,
  TransactionStatus,
  type CompensateRequest,
  type CompensateResponse,
  type ExecuteRequest,
  type ExecuteResponse,
  type ParticipantServer,
  type StepResult,
} from '@saga/proto';

export interface Arrival {
  readonly operation: 'execute' | 'compensate';
  readonly sagaId: string;
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  readonly at: number;
}

export class RecordingParticipant {
  readonly arrivals: Arrival[] = [];
  /** Stored result per idempotency key (the effect applied once). */
  private readonly results = new Map<string, StepResult>();
  private readonly held = new Map<string, { step: string; answers: ((r: StepResult) => void)[] }>();
  private applications = 0;

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  static async start(): Promise<RecordingParticipant> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const participant = new RecordingParticipant(server, `127.0.0.1:${port}`);
    const impl: ParticipantServer = {
      execute: (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>) =>
        participant.handle('execute', call.request.call, (result) => cb(null, { result })),
      compensate: (call: ServerUnaryCall<CompensateRequest, CompensateResponse>, cb: sendUnaryData<CompensateResponse>) =>
        participant.handle('compensate', call.request.call, (result) => cb(null, { result })),
      checkTransaction: (_call, cb) => cb(null, CheckTransactionResponse.fromPartial({ status: TransactionStatus.TRANSACTION_STATUS_UNKNOWN })),
    };
    server.addService(ParticipantService, impl);
    return participant;
  }

  /** What arrived for `step` (and `operation`, default execute), in order. */
  arrivalsOf(step: string, operation: Arrival['operation'] = 'execute'): Arrival[] {
    return this.arrivals.filter((a) => a.step === step && a.operation === operation);
  }

  /** The output of the one application of `key`, if it was applied. */
  appliedOutput(key: string): string | undefined {
    return this.results.get(key)?.output.toString();
  }

  /** Applies and answers the held calls of `step`. */
  release(step: string): void {
    for (const [key, h] of [...this.held]) {
      if (h.step !== step) continue;
      this.held.delete(key);
      const result = this.apply(key);
      for (const answer of h.answers) answer(result);
    }
  }

  close(): Promise<void> {
    for (const h of [...this.held.values()]) this.release(h.step);
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handle(operation: Arrival['operation'], call: ExecuteRequest['call'], answer: (r: StepResult) => void): void {
    if (call === undefined) throw new Error('request without a call');
    const key = call.idempotencyKey;
    this.arrivals.push({ operation, sagaId: call.sagaId, step: call.stepName, attempt: call.attempt, idempotencyKey: key, at: Date.now() });
    const stored = this.results.get(key);
    if (stored !== undefined) return answer(stored);
    const waiting = this.held.get(key);
    if (waiting !== undefined) {
      waiting.answers.push(answer);
      return;
    }
    if (operation === 'execute' && call.action === 'hold') {
      this.held.set(key, { step: call.stepName, answers: [answer] });
      return;
    }
    answer(this.apply(key));
  }

  private apply(key: string): StepResult {
    this.applications += 1;
    const result: StepResult = {
      outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED,
      output: Buffer.from(`applied ${key} #${this.applications}`),
      errorCode: '',
      errorMessage: '',
    };
    this.results.set(key, result);
    return result;
  }
}
