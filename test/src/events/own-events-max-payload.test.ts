// The coordinator's own events against a real nats-server started with a
// small max_payload: an outcome whose failure reason a participant made larger
// than the server carries is published with the reason cut and marked (never
// dead-lettered, never lost), step events likewise; and StartSaga refuses
// metadata the outcome events could not carry, naming the field and the limit.

import { status, type ServiceError } from '@grpc/grpc-js';
import { SagaOutcome, StepEvent, StepStatus } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { closedAfterEach, step, type EventsFixture } from './events-fixture.js';
import { LONG_ERROR_MESSAGE } from './scripted-participant.js';

const start = closedAfterEach();
const MAX_PAYLOAD = 8192;

async function natsConnected(fx: EventsFixture): Promise<void> {
  await waitFor(async () => (await fx.scrape()).value('saga_nats_connection_state', { state: 'connected' }) === 1, 'the NATS link to be ready', 30_000);
}

describe("the coordinator's own events within max_payload", () => {
  it('publishes an outcome and a step event whose participant-made texts exceed max_payload, cut and marked', async () => {
    const name = 'own events cut to max_payload';
    const fx = await start(name, { natsMaxPayload: MAX_PAYLOAD, config: { events: { stepEvents: true } } });
    await natsConnected(fx);
    const outcomes = await fx.collector('outcomes', 'saga.events.>');
    const steps = await fx.collector('steps', 'saga.steps.>', (d) => StepEvent.decode(d));
    const sagaId = idFor(name);

    const r = await fx.client.start({ sagaId, name: 'checkout', steps: [step('reserve', 'ok', 'undo'), step('charge', 'fail-long', 'undo')], waitMs: 20_000, metadata: { tenant: 't1' } });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);

    const outcome = await waitFor(() => outcomes.received.find((e) => e.value.sagaId === sagaId)?.value, 'the outcome event', 30_000);
    expect(outcome.truncatedFields).toEqual(['reason']);
    expect(outcome.reason).toMatch(/^step charge failed: DECLINED: declined: x+… \[truncated from \d+ bytes\]$/);
    expect(outcome.metadata).toEqual({ tenant: 't1' });
    const failed = await waitFor(
      () => steps.received.find((e) => e.value.sagaId === sagaId && e.value.stepName === 'charge' && e.value.status === StepStatus.STEP_STATUS_FAILED)?.value,
      'the failed step event',
      30_000,
    );
    expect(failed.truncatedFields).toEqual(['error_message']);
    expect(failed.errorCode).toBe('DECLINED');
    expect(failed.errorMessage).toMatch(new RegExp(`^declined: x+… \\[truncated from ${LONG_ERROR_MESSAGE.length} bytes\\]$`));

    // Nothing was refused by the server; GetSaga keeps the whole reason.
    expect((await fx.scrape()).value('saga_outbox_dead_lettered_total')).toBe(0);
    expect((await fx.client.get(sagaId)).failureReason).toContain(LONG_ERROR_MESSAGE);
  });

  it('refuses at StartSaga metadata its outcome events could not carry, naming the field and the limit', async () => {
    const name = 'start refuses metadata above max_payload';
    const fx = await start(name, { natsMaxPayload: MAX_PAYLOAD });
    await natsConnected(fx);
    const metadata = { a: 'v'.repeat(4096), b: 'v'.repeat(4096) };
    const err = (await fx.client
      .start({ sagaId: idFor(name, 'big'), name: 'checkout', steps: [step('reserve', 'ok', 'undo')], metadata })
      .then(() => undefined, (e: unknown) => e)) as ServiceError | undefined;
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(new RegExp(`^metadata: makes the saga's outcome events \\d+ bytes .* more than ${MAX_PAYLOAD} bytes, the most NATS carries \\(max_payload\\)$`));
    const small = await fx.client.start({ sagaId: idFor(name, 'small'), name: 'checkout', steps: [step('reserve', 'ok', 'undo')], metadata: { a: 'v'.repeat(1000) }, waitMs: 20_000 });
    expect(small.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
  });
});
