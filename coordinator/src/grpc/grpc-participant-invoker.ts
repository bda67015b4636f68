// Calls participants over gRPC: one channel per participant, reused; every
// call carries its deadline; every failure becomes a typed InvokeResult.

import { Client, Metadata, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import {
  CompensateRequest,
  CompensateResponse,
  ExecuteRequest,
  ExecuteResponse,
  StepOutcome,
  type StepCall,
  type StepResult,
} from '@saga/proto';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from '../engine/participant-invoker.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import { statusName } from './status-map.js';

export interface GrpcParticipantInvokerOptions {
  readonly registry: ParticipantRegistry;
  /** Largest output accepted from a participant. */
  readonly maxOutputBytes: number;
}

const EXECUTE_PATH = '/saga.v1.Participant/Execute';
const COMPENSATE_PATH = '/saga.v1.Participant/Compensate';
const encodeExecute = (r: ExecuteRequest): Buffer => Buffer.from(ExecuteRequest.encode(r).finish());
const encodeCompensate = (r: CompensateRequest): Buffer => Buffer.from(CompensateRequest.encode(r).finish());
const decodeExecute = (b: Buffer): ExecuteResponse => ExecuteResponse.decode(b);
const decodeCompensate = (b: Buffer): CompensateResponse => CompensateResponse.decode(b);

export class GrpcParticipantInvoker implements ParticipantInvoker {
  private readonly clients = new Map<string, Client>();
  /** Calls in flight per abort signal: one 'abort' listener per signal, not one per call. */
  private readonly inFlight = new WeakMap<AbortSignal, Set<ClientUnaryCall>>();

  constructor(private readonly options: GrpcParticipantInvokerOptions) {}

  invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult> {
    const client = this.client(call.participant);
    if (client === undefined) {
      return Promise.resolve({ kind: 'error', code: 'UNKNOWN_PARTICIPANT', message: `participant "${call.participant}" is not registered` });
    }
    const stepCall: StepCall = {
      sagaId: call.sagaId,
      sagaName: call.sagaName,
      stepName: call.stepName,
      action: call.action,
      payload: call.payload,
      attempt: call.attempt,
      idempotencyKey: call.idempotencyKey,
      deadline: new Date(call.deadline),
      outputs: Object.fromEntries(call.outputs),
      metadata: { ...call.metadata },
    };
    const calls = this.callsOf(signal);
    return new Promise<InvokeResult>((resolve) => {
      const done = (err: ServiceError | null, res?: ExecuteResponse | CompensateResponse): void => {
        calls.delete(grpcCall);
        if (err) resolve({ kind: 'error', code: statusName(err.code), message: err.details || err.message });
        else resolve(this.fromResult(res?.result));
      };
      const options = { deadline: call.deadline };
      const grpcCall =
        call.operation === 'execute'
          ? client.makeUnaryRequest(EXECUTE_PATH, encodeExecute, decodeExecute, { call: stepCall }, new Metadata(), options, done)
          : client.makeUnaryRequest(COMPENSATE_PATH, encodeCompensate, decodeCompensate, { call: stepCall }, new Metadata(), options, done);
      calls.add(grpcCall);
    });
  }

  private callsOf(signal: AbortSignal): Set<ClientUnaryCall> {
    let calls = this.inFlight.get(signal);
    if (calls === undefined) {
      const set = new Set<ClientUnaryCall>();
      calls = set;
      this.inFlight.set(signal, set);
      signal.addEventListener(
        'abort',
        () => {
          for (const c of set) c.cancel();
          set.clear();
        },
        { once: true },
      );
    }
    return calls;
  }

  close(): Promise<void> {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    return Promise.resolve();
  }

  private client(participant: string): Client | undefined {
    let client = this.clients.get(participant);
    if (client === undefined) {
      const ep = this.options.registry.resolve(participant);
      if (ep === undefined) return undefined;
      client = new Client(ep.address, ep.credentials, {
        // The engine retries by policy; the channel must not retry on its own.
        'grpc.enable_retries': 0,
        'grpc.max_receive_message_length': this.options.maxOutputBytes + 64 * 1024,
        'grpc.keepalive_time_ms': 30_000,
      });
      this.clients.set(participant, client);
    }
    return client;
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
