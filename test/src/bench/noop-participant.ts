#!/usr/bin/env node
// A no-op participant for the benchmark: a plain grpc-js server implementing
// saga.v1.Participant that does no work. Modes:
//   ok           answers every Execute/Compensate SUCCEEDED at once (default)
//   unavailable  answers every call with gRPC UNAVAILABLE (a transient error: the coordinator retries)
//   hold         never answers; holds every call until the caller cancels it or goes away
// --impl grpc-js (default) serves with a grpc-js Server, as a TypeScript participant
// would; --impl http2 with a bare node:http2 server speaking just enough gRPC
// (the recovery scenario uses it so that accepting 100,000 held calls does not
// make the participant, rather than the coordinator, what is measured).
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
  ExecuteRequest,
  ExecuteResponse,
  type CompensateRequest,
  type CompensateResponse,
  type ParticipantServer,
} from '@saga/proto';
import http2 from 'node:http2';
import { Args } from './args.js';

const args = new Args(process.argv.slice(2));
const mode = args.string('mode', 'ok');
const port = args.number('port', 0);
const reportMs = args.number('report-ms', 200);
const impl = args.string('impl', 'grpc-js');
args.rejectUnknown();
if (impl !== 'grpc-js' && impl !== 'http2') throw new Error(`--impl must be grpc-js or http2, not "${impl}"`);
if (!['ok', 'unavailable', 'hold'].includes(mode)) throw new Error(`--mode must be ok, unavailable or hold, not "${mode}"`);

const SUCCEEDED: ExecuteResponse & CompensateResponse = {
  result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output: Buffer.alloc(0), errorCode: '', errorMessage: '' },
};

let calls = 0;
let repeated = 0;
const held = new Set<unknown>();
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

let stopServer = (): void => undefined;
if (impl === 'grpc-js') {
  const server = new Server({ 'grpc.max_concurrent_streams': 1_000_000 });
  server.addService(ParticipantService, service);
  server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, bound) => {
    if (err) {
      process.stderr.write(`noop participant: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${bound}` })}\n`);
  });
  stopServer = () => server.forceShutdown();
} else {
  const server = startHttp2();
  stopServer = () => server.close();
}

/** The same participant on a bare HTTP/2 server: unary gRPC only, no compression. */
function startHttp2(): http2.Http2Server {
  const ok = Buffer.from(ExecuteResponse.encode(SUCCEEDED).finish());
  const okFrame = Buffer.alloc(5 + ok.length);
  okFrame.writeUInt32BE(ok.length, 1);
  ok.copy(okFrame, 5);
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1_000_000 }, maxSessionMemory: Number.MAX_SAFE_INTEGER });
  server.on('stream', (stream, headers) => {
    const path = headers[':path'] ?? '';
    if (!path.endsWith('/Execute') && !path.endsWith('/Compensate')) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unimplemented' }, { endStream: true });
      return;
    }
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      calls++;
      if (mode === 'ok') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(okFrame);
        return;
      }
      if (mode === 'unavailable') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14', 'grpc-message': 'bench participant: unavailable' }, { endStream: true });
        return;
      }
      const body = Buffer.concat(parts);
      const c = ExecuteRequest.decode(body.subarray(5)).call;
      const key = `${c?.idempotencyKey ?? ''}#${c?.attempt ?? 0}`;
      if (seen.has(key)) repeated++;
      else seen.add(key);
      const done = (): void => undefined;
      held.add(done);
      stream.on('close', () => held.delete(done));
    });
  });
  server.listen(port, '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${typeof a === 'object' && a !== null ? a.port : port}` })}\n`);
  });
  return server;
}

if (reportMs > 0) {
  let last = '';
  setInterval(() => {
    const line = JSON.stringify({ calls, held: held.size, keys: seen.size, repeated });
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
  }, reportMs).unref();
}

const stop = (): void => {
  stopServer();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
