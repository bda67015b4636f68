import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ParticipantClient, StepOutcome, TccParticipantClient, type StepCall, type StepResult } from '@saga/proto';

/** What a participant answered to one call, in plain terms. */
export type StepAnswer =
  | { kind: 'SUCCEEDED'; output: Buffer }
  | { kind: 'FAILED'; errorCode: string; errorMessage: string }
  | { kind: 'GRPC_ERROR'; code: number; details: string };

/** Fields of a call; the rest get defaults derived from them. */
export interface CallSpec {
  sagaId: string;
  step: string;
  action: string;
  payload?: unknown;
  attempt?: number;
  /** StepCall.compensation_epoch. Default 0. */
  compensationEpoch?: number;
  metadata?: Record<string, string>;
  outputs?: Record<string, Buffer>;
  sagaName?: string;
  /** Deadline of the call in ms. Default 5000. */
  timeoutMs?: number;
}

/**
 * Calls a participant's Execute/Compensate like the coordinator does (test
 * helper for the example participants and cross-component tests).
 */
export class ParticipantCaller {
  private readonly client: ParticipantClient;
  private readonly tccClient: TccParticipantClient;

  constructor(address: string) {
    this.client = new ParticipantClient(address, credentials.createInsecure());
    this.tccClient = new TccParticipantClient(address, credentials.createInsecure());
  }

  execute(spec: CallSpec): Promise<StepAnswer> {
    return this.call('execute', spec);
  }

  compensate(spec: CallSpec): Promise<StepAnswer> {
    return this.call('compensate', spec);
  }

  /** A TCC branch call (saga.v1.TccParticipant). */
  tcc(op: 'try' | 'confirm' | 'cancel', spec: CallSpec): Promise<StepAnswer> {
    return this.call(op, spec);
  }

  close(): void {
    this.client.close();
    this.tccClient.close();
  }

  private call(op: 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel', spec: CallSpec): Promise<StepAnswer> {
    const timeoutMs = spec.timeoutMs ?? 5_000;
    const deadline = new Date(Date.now() + timeoutMs);
    const payload =
      spec.payload === undefined
        ? Buffer.alloc(0)
        : Buffer.isBuffer(spec.payload)
          ? spec.payload
          : Buffer.from(typeof spec.payload === 'string' ? spec.payload : JSON.stringify(spec.payload));
    const call: StepCall = {
      sagaId: spec.sagaId,
      sagaName: spec.sagaName ?? 'place-order',
      stepName: spec.step,
      action: spec.action,
      payload,
      attempt: spec.attempt ?? 1,
      compensationEpoch: spec.compensationEpoch ?? 0,
      idempotencyKey: `${spec.sagaId}/${spec.step}/${op}`,
      deadline,
      outputs: spec.outputs ?? {},
      metadata: spec.metadata ?? {},
    };
    return new Promise((resolve) => {
      const callback = (err: ServiceError | null, response: { result?: StepResult | undefined } | undefined): void => {
        if (err) {
          resolve({ kind: 'GRPC_ERROR', code: err.code, details: err.details });
          return;
        }
        const result = response?.result;
        if (result?.outcome === StepOutcome.STEP_OUTCOME_SUCCEEDED) {
          resolve({ kind: 'SUCCEEDED', output: Buffer.from(result.output) });
        } else {
          resolve({ kind: 'FAILED', errorCode: result?.errorCode ?? '', errorMessage: result?.errorMessage ?? '' });
        }
      };
      if (op === 'execute' || op === 'compensate') this.client[op]({ call }, new Metadata(), { deadline }, callback);
      else this.tccClient[op]({ call }, new Metadata(), { deadline }, callback);
    });
  }
}
