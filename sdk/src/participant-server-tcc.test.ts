import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { StepOutcome, TccParticipantClient, type StepCall, type TryResponse } from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { ParticipantServer } from './participant-server.js';
import { TerminalError } from './terminal-error.js';

// TCC handlers on ParticipantServer: Try, Confirm and Cancel of the
// TccParticipant service dispatch to the action's try/confirm/cancel handlers.

let server: ParticipantServer | undefined;
let client: TccParticipantClient | undefined;

afterEach(async () => {
  client?.close();
  await server?.close();
  server = client = undefined;
});

async function start(setup: (s: ParticipantServer) => void): Promise<TccParticipantClient> {
  server = new ParticipantServer({ host: '127.0.0.1', port: 0 });
  setup(server);
  const { port } = await server.start();
  client = new TccParticipantClient(`127.0.0.1:${port}`, credentials.createInsecure());
  return client;
}

function call(op: 'try' | 'confirm' | 'cancel', action = 'reserve'): StepCall {
  return {
    sagaId: 'tx-1',
    sagaName: 'checkout',
    stepName: 'stock',
    action,
    payload: Buffer.from('{"sku":"A","quantity":2}'),
    attempt: 1,
    compensationEpoch: 0,
    idempotencyKey: `tx-1/stock/${op}`,
    deadline: new Date(Date.now() + 5_000),
    outputs: {},
    metadata: {},
  };
}

function rpc(c: TccParticipantClient, op: 'try' | 'confirm' | 'cancel', action?: string): Promise<TryResponse> {
  return new Promise((resolve, reject) => {
    c[op]({ call: call(op, action) }, new Metadata(), { deadline: new Date(Date.now() + 5_000) }, (err, res) =>
      err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res),
    );
  });
}

describe('ParticipantServer TCC handlers', () => {
  it('dispatches Try, Confirm and Cancel to the action handlers, with typed results', async () => {
    const seen: string[] = [];
    const c = await start((s) =>
      s.register('reserve', {
        try: (ctx) => {
          seen.push(`try ${ctx.idempotencyKey}`);
          return Buffer.from('frozen');
        },
        confirm: (ctx) => void seen.push(`confirm ${ctx.step}`),
        cancel: () => {
          throw new TerminalError('CANNOT_RELEASE', 'gone');
        },
      }),
    );
    expect(await rpc(c, 'try')).toMatchObject({ result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output: Buffer.from('frozen') } });
    expect(await rpc(c, 'confirm')).toMatchObject({ result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED } });
    expect(await rpc(c, 'cancel')).toMatchObject({ result: { outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'CANNOT_RELEASE' } });
    expect(seen).toEqual(['try tx-1/stock/try', 'confirm stock']);
  });

  it('answers UNIMPLEMENTED for an action without the handler, naming the operation', async () => {
    const c = await start((s) => s.register('reserve', { execute: () => undefined }));
    const err = (await rpc(c, 'try').catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toBe('no try handler is registered for action "reserve"');
  });

  it('refuses registering no handler, a non-function, or the same TCC handler twice', () => {
    const s = new ParticipantServer({});
    expect(() => s.register('reserve', {})).toThrow(/needs an execute or a compensate handler \(or TCC/);
    expect(() => s.register('reserve', { confirm: 'nope' as never })).toThrow(/confirm/);
    s.register('reserve', { try: () => undefined });
    s.register('reserve', { confirm: () => undefined });
    expect(() => s.register('reserve', { try: () => undefined })).toThrow('action "reserve" already has a try handler');
  });
});
