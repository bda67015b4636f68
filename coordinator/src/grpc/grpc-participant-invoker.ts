// Calls participants over gRPC: one channel per participant, reused; every
// call carries its deadline; every failure becomes a typed InvokeResult.
// Plaintext participants are called through a lean HTTP/2 unary client (see
// http2-unary-channel.ts for why); participants with TLS through grpc-js.

import { Client, Metadata, type ServiceError } from '@grpc/grpc-js';
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
import { Http2UnaryChannel } from './http2-unary-channel.js';
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
/** host:port or [v6]:port: what the lean channel dials (other target syntaxes go to grpc-js). */
const PLAIN_ADDRESS = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5}$/;

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

function encodeWithSharedWriter(execute: boolean, call: StepCall): Uint8Array {
  try {
    return execute ? ExecuteRequest.encode({ call }, sharedWriter).finish() : CompensateRequest.encode({ call }, sharedWriter).finish();
  } catch (err) {
    sharedWriter.finish(); // leave it empty for the next call
    throw err;
  }
}

export class GrpcParticipantInvoker implements ParticipantInvoker {
  private readonly clients = new Map<string, Client>();
  /** Per participant: its lean channel, or null when it is called through grpc-js (TLS). */
  private readonly channels = new Map<string, Http2UnaryChannel | null>();
  /** Calls in flight per abort signal: one 'abort' listener per signal, not one per call. */
  private readonly inFlight = new WeakMap<AbortSignal, Set<Cancellable>>();

  constructor(private readonly options: GrpcParticipantInvokerOptions) {}

  invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult> {
    const channel = this.channel(call.participant);
    const client = channel === undefined ? this.client(call.participant) : undefined;
    if (channel === undefined && client === undefined) {
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
      // Only read by the encoder: no copies when there is nothing to copy.
      outputs: call.outputs.size === 0 ? NO_ENTRIES : Object.fromEntries(call.outputs),
      metadata: call.metadata,
    };
    const calls = this.callsOf(signal);
    if (channel !== undefined) return this.invokeLean(channel, call.operation === 'execute', stepCall, call.deadline, calls, call.traceparent);
    if (client === undefined) throw new Error('unreachable: no channel and no client');
    return new Promise<InvokeResult>((resolve) => {
      const done = (err: ServiceError | null, res?: ExecuteResponse | CompensateResponse): void => {
        calls.delete(grpcCall);
        if (err) resolve({ kind: 'error', code: statusName(err.code), message: err.details || err.message });
        else resolve(this.fromResult(res?.result));
      };
      const options = { deadline: call.deadline };
      const md = new Metadata();
      if (call.traceparent !== undefined) md.set('traceparent', call.traceparent);
      const grpcCall =
        call.operation === 'execute'
          ? client.makeUnaryRequest(EXECUTE_PATH, encodeExecute, decodeExecute, { call: stepCall }, md, options, done)
          : client.makeUnaryRequest(COMPENSATE_PATH, encodeCompensate, decodeCompensate, { call: stepCall }, md, options, done);
      calls.add(grpcCall);
    });
  }

  private invokeLean(
    channel: Http2UnaryChannel,
    execute: boolean,
    stepCall: StepCall,
    deadline: number,
    calls: Set<Cancellable>,
    traceparent: string | undefined,
  ): Promise<InvokeResult> {
    const request = encodeWithSharedWriter(execute, stepCall);
    return new Promise<InvokeResult>((resolve) => {
      // The answer never comes before call() returns.
      const handle = channel.call(execute ? EXECUTE_PATH : COMPENSATE_PATH, request, deadline, (answer) => {
        calls.delete(handle);
        if (answer.code !== 0 || answer.message === undefined) {
          resolve({ kind: 'error', code: statusName(answer.code), message: answer.details });
          return;
        }
        let res: ExecuteResponse | CompensateResponse;
        try {
          res = execute ? ExecuteResponse.decode(answer.message) : CompensateResponse.decode(answer.message);
        } catch (err) {
          resolve({ kind: 'error', code: 'INTERNAL', message: `Response message parsing error: ${(err as Error).message}` });
          return;
        }
        resolve(this.fromResult(res.result));
      }, traceparent);
      calls.add(handle);
    });
  }

  /** The lean channel of a plaintext participant; undefined for TLS (grpc-js) or unknown participants. */
  private channel(participant: string): Http2UnaryChannel | undefined {
    const known = this.channels.get(participant);
    if (known !== undefined) return known ?? undefined;
    const ep = this.options.registry.resolve(participant);
    if (ep === undefined) return undefined;
    const plain = !ep.credentials._isSecure() && PLAIN_ADDRESS.test(ep.address);
    const channel = plain
      ? new Http2UnaryChannel(ep.address, {
          maxReceiveBytes: this.options.maxOutputBytes + 64 * 1024,
          keepaliveMs: 30_000,
          keepaliveTimeoutMs: 20_000,
        })
      : null;
    this.channels.set(participant, channel);
    return channel ?? undefined;
  }

  private callsOf(signal: AbortSignal): Set<Cancellable> {
    let calls = this.inFlight.get(signal);
    if (calls === undefined) {
      const set = new Set<Cancellable>();
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
    for (const c of this.channels.values()) c?.close();
    this.channels.clear();
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
