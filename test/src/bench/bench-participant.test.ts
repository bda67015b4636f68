// The benchmark's grpc-go no-op participant (participants/go/cmd/bench-participant,
// built by build.sh) does what the grpc-js one does in ok mode: it answers
// Execute SUCCEEDED and prints its counters in the same form, so that
// --participant-server go measures the same saga.

import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ExecuteRequest, ParticipantClient, StepOutcome, type ExecuteResponse } from '@saga/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { participantCounters, startNoopParticipant, type BenchProcess } from './bench-process.js';

const running: BenchProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function execute(address: string, key: string): Promise<ExecuteResponse> {
  const client = new ParticipantClient(address, credentials.createInsecure());
  const request = ExecuteRequest.fromPartial({ call: { sagaId: key, stepName: 'one', action: 'do', idempotencyKey: key, attempt: 1 } });
  return new Promise<ExecuteResponse>((resolve, reject) =>
    client.execute(request, new Metadata(), { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res?: ExecuteResponse) =>
      err !== null || res === undefined ? reject(err ?? new Error('no answer')) : resolve(res),
    ),
  ).finally(() => client.close());
}

describe('the no-op bench participant', () => {
  it('on grpc-go answers SUCCEEDED and counts the calls', async () => {
    const p = await startNoopParticipant('bench-participant-go', 'ok', 50, 'go');
    running.push(p);
    const counters = participantCounters([p]);
    const answers = await Promise.all([execute(p.address, 'go-a'), execute(p.address, 'go-b')]);
    expect(answers.map((a) => a.result?.outcome)).toEqual([StepOutcome.STEP_OUTCOME_SUCCEEDED, StepOutcome.STEP_OUTCOME_SUCCEEDED]);
    await vi.waitFor(() => expect(counters().calls).toBe(2), { timeout: 5000 });
  });

  it('on grpc-go refuses the modes it does not have', async () => {
    await expect(startNoopParticipant('bench-participant-go-hold', 'hold', 50, 'go')).rejects.toThrow(/mode "hold" needs grpc-js or http2/);
  });
});
