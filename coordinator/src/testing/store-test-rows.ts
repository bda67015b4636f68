// Rows for store tests: a one-step saga definition and a PREPARED
// transactional message, as the engine and the message service would write them.
// Not used by the coordinator itself.

import { DEFAULT_CONFIG } from '../config/config.js';
import type { SagaDefinition } from '../domain/saga-types.js';
import { validateStartSaga } from '../domain/validate-start-saga.js';
import type { MessageRecord } from '../messages/message-types.js';

/** A valid definition named `name` with one step 'a' on participant 'p'. */
export function oneStepDefinition(name: string): SagaDefinition {
  return validateStartSaga(
    {
      sagaId: '',
      name,
      steps: [
        {
          name: 'a',
          participant: 'p',
          action: 'do',
          compensateAction: 'undo',
          payload: Buffer.from('payload'),
          dependsOn: [],
          noCompensation: false,
          retry: undefined,
          compensationRetry: undefined,
          metadata: {},
        },
      ],
      deadlineMs: 0,
      defaultRetry: undefined,
      defaultCompensationRetry: undefined,
      metadata: {},
      waitMs: 0,
    },
    DEFAULT_CONFIG.limits,
    DEFAULT_CONFIG.retry,
    () => 'registered',
  ).definition;
}

/** A PREPARED message `id` (version 1), first checked back at 1001. */
export function preparedMessage(id: string): MessageRecord {
  return {
    id,
    subject: 'orders.created',
    key: '',
    headers: {},
    producer: 'p',
    policy: { checkAfterMs: 1000, checkIntervalMs: 1000, maxChecks: 3, checkTimeoutMs: 1000 },
    contentHash: 'h',
    state: 'PREPARED',
    checks: 0,
    createdAt: 1,
    decidedAt: undefined,
    deliverAt: undefined,
    nextCheckAt: 1001,
    enqueuedAt: undefined,
    publishedAt: undefined,
    reason: '',
    version: 1,
  };
}
