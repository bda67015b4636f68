// A participant inside the test process that records every request it gets
// (the participant's own record of what arrived, and when) and applies each
// idempotency key at most once, answering duplicates with the stored result,
// as a barrier does. Actions:
//   execute  ok     SUCCEEDED, output "applied <key> #<n>" (n counts applications)
//            hold   held until release(step), then as ok; a duplicate of a held
//                   key waits for the same answer
//            flaky  as ok, but with the probability `faultRate` (start option)
//                   answers UNAVAILABLE before applying, and with the same
//                   probability applies and then answers UNAVAILABLE (the
//                   answer lost): the coordinator retries with the same key
//   compensate      SUCCEEDED
//   check-back      recorded (message id, check number), answered UNKNOWN
// Each arrival records the saga's fencing epoch (the saga-fencing-epoch
// metadata entry; 0 without one) and each application the arrival that made
// it, so that a test can check no stale epoch produced an effect.

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall, type ServiceError } from '@grpc/grpc-js';
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
  type RetryPolicy,
  type StepDefinition,
  type StepResult,
} from '@saga/proto';

/** A step on a recording participant registered as "rec", doing `action` (ok, hold, flaky) with `retry` for both operations. */
export function recordingStep(name: string, action: string, retry: RetryPolicy): StepDefinition {
  return {
    name,
    participant: 'rec',
    action,
    compensateAction: 'undo',
    payload: Buffer.alloc(0),
    dependsOn: [],
    noCompensation: false,
    retry,
    compensationRetry: retry,
    metadata: {},
  };
}

export interface Arrival {
  readonly operation: 'execute' | 'compensate';
  readonly sagaId: string;
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  readonly at: number;
  /** The fencing epoch the call carried (0: none). */
  readonly epoch: number;
  /** Index of this arrival in `arrivals`. */
  readonly index: number;
}

/** A transactional message's check-back as it arrived. */
export interface CheckArrival {
  readonly messageId: string;
  /** The check's number (1 = the first check-back of the message). */
  readonly check: number;
  readonly at: number;
}

/** One application of an idempotency key: the effect, made once, by the arrival at `arrival`. */
export interface Application {
  readonly key: string;
  readonly arrival: Arrival;
}

export class RecordingParticipant {
  readonly arrivals: Arrival[] = [];
  readonly applications: Application[] = [];
  readonly checks: CheckArrival[] = [];
  /** Stored result per idempotency key (the effect applied once). */
  private readonly results = new Map<string, StepResult>();
  private readonly held = new Map<string, { step: string; first: Arrival; answers: ((r: StepResult) => void)[] }>();
  private applied = 0;

  private constructor(
    private readonly server: Server,
    readonly address: string,
    private readonly faultRate: number,
    private readonly maxDelayMs: number,
    private readonly random: () => number,
  ) {}

  /** `faultRate`: see "flaky"; `maxDelayMs`: a flaky call is answered after a random delay up to this. */
  static async start(options: { faultRate?: number; maxDelayMs?: number; random?: () => number } = {}): Promise<RecordingParticipant> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const participant = new RecordingParticipant(server, `127.0.0.1:${port}`, options.faultRate ?? 0, options.maxDelayMs ?? 0, options.random ?? Math.random);
    const impl: ParticipantServer = {
      execute: (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>) =>
        participant.handle('execute', call.request.call, (result) => cb(null, { result }), (err) => cb(err)),
      compensate: (call: ServerUnaryCall<CompensateRequest, CompensateResponse>, cb: sendUnaryData<CompensateResponse>) =>
        participant.handle('compensate', call.request.call, (result) => cb(null, { result })),
      checkTransaction: (call, cb) => {
        participant.checks.push({ messageId: call.request.messageId, check: call.request.check, at: Date.now() });
        cb(null, CheckTransactionResponse.fromPartial({ status: TransactionStatus.TRANSACTION_STATUS_UNKNOWN }));
      },
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
      const result = this.apply(key, h.first);
      for (const answer of h.answers) answer(result);
    }
  }

  close(): Promise<void> {
    for (const h of [...this.held.values()]) this.release(h.step);
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }

  private handle(
    operation: Arrival['operation'],
    call: ExecuteRequest['call'],
    answer: (r: StepResult) => void,
    fail: (err: Partial<ServiceError>) => void = () => undefined,
  ): void {
    if (call === undefined) throw new Error('request without a call');
    const key = call.idempotencyKey;
    const arrival: Arrival = {
      operation,
      sagaId: call.sagaId,
      step: call.stepName,
      attempt: call.attempt,
      idempotencyKey: key,
      at: Date.now(),
      epoch: Number(call.metadata['saga-fencing-epoch'] ?? 0),
      index: this.arrivals.length,
    };
    this.arrivals.push(arrival);
    const stored = this.results.get(key);
    if (stored !== undefined) return answer(stored);
    const waiting = this.held.get(key);
    if (waiting !== undefined) {
      waiting.answers.push(answer);
      return;
    }
    if (operation === 'execute' && call.action === 'hold') {
      this.held.set(key, { step: call.stepName, first: arrival, answers: [answer] });
      return;
    }
    if (operation === 'execute' && call.action === 'flaky') {
      const dice = this.random();
      if (dice < this.faultRate) return fail({ code: status.UNAVAILABLE, details: 'injected fault before applying' });
      const result = this.apply(key, arrival);
      const respond = (): void => {
        if (dice < 2 * this.faultRate) fail({ code: status.UNAVAILABLE, details: 'injected fault after applying' });
        else answer(result);
      };
      if (this.maxDelayMs > 0) setTimeout(respond, this.random() * this.maxDelayMs);
      else respond();
      return;
    }
    answer(this.apply(key, arrival));
  }

  private apply(key: string, arrival: Arrival): StepResult {
    this.applied += 1;
    this.applications.push({ key, arrival });
    const result: StepResult = {
      outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED,
      output: Buffer.from(`applied ${key} #${this.applied}`),
      errorCode: '',
      errorMessage: '',
    };
    this.results.set(key, result);
    return result;
  }
}
