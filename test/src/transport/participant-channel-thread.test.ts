// The participant transport on its own thread (participantTransport.thread =
// "worker") against a grpc-js server, through the coordinator's invoker:
// answers, metadata headers and many calls at once cross the thread; deadline
// and cancellation still end a call; closing answers the calls in the thread.

import { DEFAULT_PARTICIPANT_TRANSPORT, GrpcParticipantInvoker, ParticipantRegistry } from '@saga/coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import { SERVER_KINDS, type Echo, type RunningServer } from './transport-servers.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const grpcJs = SERVER_KINDS.find((k) => k.name === 'grpc-js');

async function setup(): Promise<{ server: RunningServer; invoker: GrpcParticipantInvoker }> {
  if (grpcJs === undefined) throw new Error('no grpc-js server kind');
  const server = await grpcJs.start({});
  cleanup.push(() => server.stop());
  const invoker = new GrpcParticipantInvoker({
    registry: new ParticipantRegistry({ p: { address: server.address } }),
    maxOutputBytes: 1024 * 1024,
    transport: { ...DEFAULT_PARTICIPANT_TRANSPORT, thread: 'worker' },
  });
  cleanup.push(() => invoker.close());
  return { server, invoker };
}

function invoke(invoker: GrpcParticipantInvoker, sagaId: string, action: string, signal = new AbortController().signal, deadlineMs = 20_000) {
  return invoker.invoke(
    {
      participant: 'p',
      operation: 'execute',
      sagaId,
      sagaName: 'transfer',
      stepName: 'debit',
      action,
      payload: Buffer.from('payload'),
      attempt: 1,
      compensationEpoch: 0,
      idempotencyKey: `${sagaId}/debit/execute`,
      deadline: Date.now() + deadlineMs,
      outputs: new Map(),
      metadata: { 'request-id': `r-${sagaId}` },
    },
    signal,
  );
}

describe('the participant channels on a thread of their own', () => {
  it('carries answers and metadata headers, for many calls at once', async () => {
    const { invoker } = await setup();
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => invoke(invoker, `s-${i}`, 'echo')));
    results.forEach((r, i) => {
      if (r.kind !== 'succeeded') throw new Error(`call ${i} failed: ${JSON.stringify(r)}`);
      const echo = JSON.parse(r.output.toString()) as Echo;
      expect(echo.metadata['request-id']).toBe(`r-s-${i}`);
    });
  });

  it('ends a call at its deadline, and a cancelled one at once', async () => {
    const { invoker } = await setup();
    expect(await invoke(invoker, 'late', 'hold', undefined, 300)).toMatchObject({ kind: 'error', code: 'DEADLINE_EXCEEDED' });
    const abort = new AbortController();
    const held = invoke(invoker, 'cancelled', 'hold', abort.signal);
    // The call is out (a later echo on the same connection is answered) before it is cancelled.
    expect((await invoke(invoker, 'after', 'echo')).kind).toBe('succeeded');
    abort.abort();
    expect(await held).toMatchObject({ kind: 'error', code: 'CANCELLED' });
  });

  it('answers the calls in the thread UNAVAILABLE when closed, and refuses new ones', async () => {
    const { invoker } = await setup();
    const held = invoke(invoker, 'held', 'hold');
    expect((await invoke(invoker, 'first', 'echo')).kind).toBe('succeeded');
    await invoker.close();
    expect(await held).toMatchObject({ kind: 'error', code: 'UNAVAILABLE' });
    expect(await invoke(invoker, 'later', 'echo')).toMatchObject({ kind: 'error', code: 'UNAVAILABLE' });
  });
});
