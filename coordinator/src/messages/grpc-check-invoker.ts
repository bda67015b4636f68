// Participant.CheckTransaction over the participant transport (the same path
// as Execute and Compensate): one transport per producer, reused; every call
// carries its deadline, a traceparent, and follows the caller's AbortSignal.

import { CheckTransactionRequest, CheckTransactionResponse, TransactionStatus } from '@saga/proto';
import { ParticipantTransportPool } from '../grpc/participant-transport-pool.js';
import type { ParticipantTransportSettings } from '../grpc/participant-transport-settings.js';
import { statusName } from '../grpc/status-map.js';
import { randomSpanId, traceparentFor } from '../grpc/traceparent.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import type { CheckCall, CheckInvoker } from './check-invoker.js';
import type { CheckAnswer } from './message-types.js';

const CHECK_PATH = '/saga.v1.Participant/CheckTransaction';
/** A CheckTransactionResponse is one enum: any sane answer is far below this. */
const MAX_ANSWER_BYTES = 64 * 1024;

export class GrpcCheckInvoker implements CheckInvoker {
  private readonly transports: ParticipantTransportPool;

  constructor(
    private readonly registry: ParticipantRegistry,
    transport: ParticipantTransportSettings,
    /** A new span id per call (16 hex digits). Default random. */
    private readonly spanId: () => string = randomSpanId,
  ) {
    // Check-backs are rare: "auto" keeps their channels on the event loop rather than boot a second thread.
    this.transports = new ParticipantTransportPool({ ...transport, thread: transport.thread === 'auto' ? 'main' : transport.thread }, MAX_ANSWER_BYTES);
  }

  check(call: CheckCall, signal: AbortSignal): Promise<CheckAnswer> {
    // Producers must be registered by name; raw addresses are never dialled for check-backs.
    const transport = this.registry.check(call.producer) === 'registered' ? this.transports.get(call.producer, () => this.registry.resolve(call.producer)) : undefined;
    if (transport === undefined) {
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
    const message = CheckTransactionRequest.encode(request).finish();
    // The message's own trace: a producer's traceparent header, else one derived from the message id.
    const traceparent = traceparentFor(call.messageId, call.headers.traceparent, this.spanId());
    return new Promise<CheckAnswer>((resolve) => {
      const handle = transport.unary({ path: CHECK_PATH, message, deadline: call.deadline, traceparent }, (answer) => {
        signal.removeEventListener('abort', onAbort);
        if (answer.code !== 0 || answer.message === undefined) {
          resolve({ kind: 'error', code: statusName(answer.code), message: answer.details });
          return;
        }
        let res: CheckTransactionResponse;
        try {
          res = CheckTransactionResponse.decode(answer.message);
        } catch (err) {
          resolve({ kind: 'error', code: 'INTERNAL', message: `Response message parsing error: ${(err as Error).message}` });
          return;
        }
        resolve(answerOf(res.status));
      });
      const onAbort = (): void => handle.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  close(): Promise<void> {
    this.transports.close();
    return Promise.resolve();
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
