// A participant inside the test process: a grpc-js server implementing
// saga.v1.Participant whose behaviour is chosen by the action names, so a saga
// definition says what happens:
//   execute   ok           SUCCEEDED
//             fail         FAILED (business failure: compensation starts)
//             fail-long    FAILED with a 20,000-byte error message (LONG_ERROR_MESSAGE)
//             flaky        UNAVAILABLE on attempt 1 (retried), then SUCCEEDED
//   compensate undo        SUCCEEDED
//             undo-fail    FAILED (the saga goes to MANUAL)
//             undo-hold    held until release(sagaId), then SUCCEEDED
//             undo-broken  FAILED until fixUndo() is called, then SUCCEEDED
// and saga.v1.TccParticipant: Try "ok" SUCCEEDED, "fail" FAILED; Confirm and
// Cancel SUCCEEDED.

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  CheckTransactionResponse,
  ParticipantService,
  StepOutcome,
  TccParticipantService,
  TransactionStatus,
  type TccParticipantServer,
  type CompensateRequest,
  type CompensateResponse,
  type ExecuteRequest,
  type ExecuteResponse,
  type ParticipantServer,
  type StepResult,
} from '@saga/proto';

const succeeded: StepResult = { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output: Buffer.alloc(0), errorCode: '', errorMessage: '' };
const failed = (code: string, errorMessage = `scripted ${code}`): StepResult => ({ outcome: StepOutcome.STEP_OUTCOME_FAILED, output: Buffer.alloc(0), errorCode: code, errorMessage });

/** The error message of `fail-long`: larger than a small max_payload. */
export const LONG_ERROR_MESSAGE = `declined: ${'x'.repeat(19_990)}`;

export class ScriptedParticipant {
  private constructor(
    private readonly server: Server,
    readonly address: string,
    /** Compensations held by undo-hold, by saga id. */
    private readonly held: Map<string, (() => void)[]>,
    private readonly undo: { broken: boolean },
  ) {}

  static async start(): Promise<ScriptedParticipant> {
    const server = new Server();
    const held = new Map<string, (() => void)[]>();
    const undo = { broken: true };
    const hold = (sagaId: string, answer: () => void): void => {
      held.set(sagaId, [...(held.get(sagaId) ?? []), answer]);
    };
    const impl: ParticipantServer = {
      execute: (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, cb: sendUnaryData<ExecuteResponse>) => {
        const c = call.request.call;
        if (c?.action === 'fail') cb(null, { result: failed('NOPE') });
        else if (c?.action === 'fail-long') cb(null, { result: failed('DECLINED', LONG_ERROR_MESSAGE) });
        else if (c?.action === 'flaky' && c.attempt === 1) cb({ code: status.UNAVAILABLE, details: 'scripted: try again' });
        else cb(null, { result: succeeded });
      },
      compensate: (call: ServerUnaryCall<CompensateRequest, CompensateResponse>, cb: sendUnaryData<CompensateResponse>) => {
        const c = call.request.call;
        if (c?.action === 'undo-fail') cb(null, { result: failed('CANNOT_UNDO') });
        else if (c?.action === 'undo-hold') hold(c.sagaId, () => cb(null, { result: succeeded }));
        else if (c?.action === 'undo-broken' && undo.broken) cb(null, { result: failed('CANNOT_UNDO') });
        else cb(null, { result: succeeded });
      },
      checkTransaction: (_call, cb) => cb(null, CheckTransactionResponse.fromPartial({ status: TransactionStatus.TRANSACTION_STATUS_UNKNOWN })),
    };
    server.addService(ParticipantService, impl);
    const tcc: TccParticipantServer = {
      try: (call, cb) => cb(null, { result: call.request.call?.action === 'fail' ? failed('NOPE') : succeeded }),
      confirm: (_call, cb) => cb(null, { result: succeeded }),
      cancel: (_call, cb) => cb(null, { result: succeeded }),
    };
    server.addService(TccParticipantService, tcc);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return new ScriptedParticipant(server, `127.0.0.1:${port}`, held, undo);
  }

  /** Number of compensations held for the saga now. */
  heldFor(sagaId: string): number {
    return this.held.get(sagaId)?.length ?? 0;
  }

  /** From now on undo-broken compensations succeed (the participant was fixed). */
  fixUndo(): void {
    this.undo.broken = false;
  }

  /** Answers the saga's held compensations. */
  release(sagaId: string): void {
    const answers = this.held.get(sagaId) ?? [];
    this.held.delete(sagaId);
    for (const a of answers) a();
  }

  close(): Promise<void> {
    for (const id of [...this.held.keys()]) this.release(id);
    return new Promise((resolve) => this.server.tryShutdown(() => resolve()));
  }
}
