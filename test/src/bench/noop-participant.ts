#!/usr/bin/env node
// A no-op participant for the benchmark: a plain grpc-js server implementing
// saga.v1.Participant that does no work. Modes:
//   ok           answers every Execute/Compensate SUCCEEDED at once (default)
//   unavailable  answers every call with gRPC UNAVAILABLE (a transient error: the coordinator retries)
//   hold         never answers; holds every call until the caller cancels it or goes away
// Prints {"listening":"127.0.0.1:PORT"} when ready, then, every --report-ms
// (default 200) while they change, its counters as one JSON line:
//   {"calls":N,"held":N,"keys":N,"repeated":N}
// (repeated = calls whose idempotency key and attempt it had seen before: re-sends).

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
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
} from '@saga/proto';
import { Args } from './args.js';

const args = new Args(process.argv.slice(2));
const mode = args.string('mode', 'ok');
const port = args.number('port', 0);
const reportMs = args.number('report-ms', 200);
args.rejectUnknown();
if (!['ok', 'unavailable', 'hold'].includes(mode)) throw new Error(`--mode must be ok, unavailable or hold, not "${mode}"`);

const SUCCEEDED: ExecuteResponse & CompensateResponse = {
  result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output: Buffer.alloc(0), errorCode: '', errorMessage: '' },
};

let calls = 0;
let repeated = 0;
const held = new Set<sendUnaryData<ExecuteResponse>>();
/** "key#attempt" seen, only tracked in hold mode (for the recovery scenario). */
const seen = new Set<string>();

function handle(call: ServerUnaryCall<ExecuteRequest | CompensateRequest, ExecuteResponse>, callback: sendUnaryData<ExecuteResponse>): void {
  calls++;
  if (mode === 'ok') {
    callback(null, SUCCEEDED);
    return;
  }
  if (mode === 'unavailable') {
    callback({ code: status.UNAVAILABLE, details: 'bench participant: unavailable' });
    return;
  }
  const c = call.request.call;
  const key = `${c?.idempotencyKey ?? ''}#${c?.attempt ?? 0}`;
  if (seen.has(key)) repeated++;
  else seen.add(key);
  held.add(callback);
  call.on('cancelled', () => held.delete(callback));
}

const service: ParticipantServer = {
  execute: handle,
  compensate: handle,
  checkTransaction: (_call, callback) => callback(null, CheckTransactionResponse.fromPartial({ status: TransactionStatus.TRANSACTION_STATUS_COMMIT })),
};

const server = new Server({ 'grpc.max_concurrent_streams': 1_000_000 });
server.addService(ParticipantService, service);
server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    process.stderr.write(`noop participant: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${bound}` })}\n`);
});

if (reportMs > 0) {
  let last = '';
  setInterval(() => {
    const line = JSON.stringify({ calls, held: held.size, keys: seen.size, repeated });
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
  }, reportMs).unref();
}

const stop = (): void => {
  server.forceShutdown();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
