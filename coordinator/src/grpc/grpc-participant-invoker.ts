// Calls participants over gRPC: one transport per participant, reused; every
// call carries its deadline, the saga's metadata and a W3C traceparent; every
// failure becomes a typed InvokeResult. Plaintext and TLS participants go
// through the same transport (participant-transport.ts).

import { ExecuteRequest, ExecuteResponse, StepOutcome, type StepCall, type StepResult } from '@saga/proto';
import { performance } from 'node:perf_hooks';
import { PARTICIPANT_METHODS } from './participant-methods.js';
import type { Operation } from '../domain/saga-types.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from '../engine/participant-invoker.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import type { ParticipantTransport } from './participant-transport.js';
import { ParticipantTransportPool } from './participant-transport-pool.js';
import type { ParticipantTransportSettings } from './participant-transport-settings.js';
import { statusName } from './status-map.js';
import { randomSpanId, traceparentFor } from './traceparent.js';
import { ChurnTable } from '../util/churn-table.js';

export interface GrpcParticipantInvokerOptions {
  readonly registry: ParticipantRegistry;
  /** Largest output accepted from a participant. */
  readonly maxOutputBytes: number;
  readonly transport: ParticipantTransportSettings;
  /** A new span id (16 hex digits, not all zero) per call. Default random. */
  readonly spanId?: () => string;
  /** Each call's time in ms, from handing it to the transport until its answer is back (a histogram); must be cheap. */
  readonly onCallTime?: (operation: Operation, ms: number) => void;
}

const NO_ENTRIES: Record<string, Buffer> = Object.freeze({});

interface Cancellable {
  cancel(): void;
}

/**
 * One protobuf writer for every request: encoding is synchronous and finish()
 * resets it, so its buffer grows once instead of being allocated (and doubled
 * twice, each a new ArrayBuffer) for every call.
 */
const sharedWriter = ExecuteRequest.encode(ExecuteRequest.fromPartial({}));
sharedWriter.finish();

/**
 * Every participant request (Execute, Compensate, Try, Confirm, Cancel) is
 * `{ StepCall call = 1; }` and every response `{ StepResult result = 1; }`:
 * one encoding and one decoding serve them all, the path says which RPC.
 */
function encodeWithSharedWriter(call: StepCall): Uint8Array {
  try {
    return ExecuteRequest.encode({ call }, sharedWriter).finish();
  } catch (err) {
    sharedWriter.finish(); // leave it empty for the next call
    throw err;
  }
}

export class GrpcParticipantInvoker implements ParticipantInvoker {
  private readonly transports: ParticipantTransportPool;
  /** Calls in flight per abort signal: one 'abort' listener per signal, not one per call. */
  private readonly inFlight = new WeakMap<AbortSignal, ChurnTable<number, Cancellable>>();
  private callNumber = 0;
  private readonly spanId: () => string;

  constructor(private readonly options: GrpcParticipantInvokerOptions) {
    // Room for the StepResult around the largest output.
    this.transports = new ParticipantTransportPool(options.transport, options.maxOutputBytes + 64 * 1024);
    this.spanId = options.spanId ?? randomSpanId;
  }

  /** Whether the participant channels run on a thread of their own (participantTransport.thread). */
  channelsOnOwnThread(): boolean {
    return this.transports.onOwnThread();
  }

  invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult> {
    const transport = this.transports.get(call.participant, () => this.options.registry.resolve(call.participant));
    if (transport === undefined) {
      return Promise.resolve({ kind: 'error', code: 'UNKNOWN_PARTICIPANT', message: `participant "${call.participant}" is not registered` });
    }
    const stepCall: StepCall = {
      sagaId: call.sagaId,
      sagaName: call.sagaName,
      stepName: call.stepName,
      action: call.action,
      payload: call.payload,
      attempt: call.attempt,
      compensationEpoch: call.compensationEpoch,
      idempotencyKey: call.idempotencyKey,
      deadline: new Date(call.deadline),
      // Only read by the encoder: no copies when there is nothing to copy.
      outputs: call.outputs.size === 0 ? NO_ENTRIES : Object.fromEntries(call.outputs),
      metadata: call.metadata,
    };
    // A call the tracer wrapped carries its own span's traceparent: sent as is, so the participant's span is its child.
    const traceparent = call.traceparent ?? traceparentFor(call.sagaId, call.metadata.traceparent, this.spanId());
    return this.send(transport, call.operation, stepCall, call.deadline, traceparent, this.callsOf(signal));
  }

  private send(transport: ParticipantTransport, operation: Operation, stepCall: StepCall, deadline: number, traceparent: string, calls: ChurnTable<number, Cancellable>): Promise<InvokeResult> {
    const message = encodeWithSharedWriter(stepCall);
    const onCallTime = this.options.onCallTime;
    const sentAt = onCallTime === undefined ? 0 : performance.now();
    const n = this.callNumber++;
    return new Promise<InvokeResult>((resolve) => {
      // The answer never comes before unary() returns.
      const handle = transport.unary({ path: PARTICIPANT_METHODS[operation].path, message, deadline, metadata: stepCall.metadata, traceparent }, (answer) => {
        calls.delete(n);
        onCallTime?.(operation, performance.now() - sentAt);
        if (answer.code !== 0 || answer.message === undefined) {
          resolve({ kind: 'error', code: statusName(answer.code), message: answer.details });
          return;
        }
        let res: ExecuteResponse;
        try {
          res = ExecuteResponse.decode(answer.message);
        } catch (err) {
          resolve({ kind: 'error', code: 'INTERNAL', message: `Response message parsing error: ${(err as Error).message}` });
          return;
        }
        resolve(this.fromResult(res.result));
      });
      calls.set(n, handle);
    });
  }

  private callsOf(signal: AbortSignal): ChurnTable<number, Cancellable> {
    let calls = this.inFlight.get(signal);
    if (calls === undefined) {
      const table = new ChurnTable<number, Cancellable>();
      calls = table;
      this.inFlight.set(signal, table);
      signal.addEventListener(
        'abort',
        () => {
          for (const c of table.values()) c.cancel();
          table.clear();
        },
        { once: true },
      );
    }
    return calls;
  }

  close(): Promise<void> {
    this.transports.close();
    return Promise.resolve();
  }

  private fromResult(result: StepResult | undefined): InvokeResult {
    switch (result?.outcome) {
      case StepOutcome.STEP_OUTCOME_SUCCEEDED:
        if (result.output.length > this.options.maxOutputBytes) {
          return { kind: 'error', code: 'OUTPUT_TOO_LARGE', message: `output of ${result.output.length} bytes exceeds ${this.options.maxOutputBytes}` };
        }
        return { kind: 'succeeded', output: Buffer.from(result.output) };
      case StepOutcome.STEP_OUTCOME_FAILED:
        return { kind: 'failed', code: result.errorCode, message: result.errorMessage };
      default:
        return { kind: 'error', code: 'MALFORMED_RESULT', message: 'the participant answered without a SUCCEEDED or FAILED outcome' };
    }
  }
}
