// Test-only crash injection: SAGA_TEST_CRASH_AT="<point>:<step>:<operation>"
// makes the process SIGKILL itself the first time that point is reached for
// that step and operation, exactly like `kill -9` at that instant. Points:
//   after-dispatch-commit  the dispatch intent is durable, the RPC not yet sent
//   before-result-commit   the participant answered, the result is not yet durable
//   after-outbox-publish   JetStream acknowledged an event; the outbox row is not
//                          yet marked sent (step/operation are ignored)
// Transactional messages: SAGA_TEST_CRASH_AT="<point>[:<message id>]":
//   message-after-prepare  the prepared message is durable, PrepareMessage not yet answered
//   message-after-commit   the commit (and its outbox row) is durable, not yet answered or published
// Unset (the default) = no crash points at all.

import type { Logger } from 'pino';
import type { CrashPoint, EngineHooks } from './engine/saga-engine.js';
import type { MessageCrashPoint } from './messages/message-service.js';

export function crashPointFromEnv(env: NodeJS.ProcessEnv, logger: Logger): EngineHooks['crashPoint'] {
  const spec = env.SAGA_TEST_CRASH_AT;
  if (spec === undefined || spec === '') return undefined;
  const [point, step, operation] = spec.split(':') as [CrashPoint, string | undefined, string | undefined];
  if (isMessageCrashPoint(point)) return undefined;
  if (point !== 'after-dispatch-commit' && point !== 'before-result-commit' && point !== 'after-outbox-publish') {
    throw new Error(`SAGA_TEST_CRASH_AT: unknown crash point in "${spec}"`);
  }
  logger.warn({ point, step, operation }, 'test crash point armed');
  return (p, _sagaId, s, op) => {
    if (p === point && (step === undefined || step === s) && (operation === undefined || operation === op)) {
      process.kill(process.pid, 'SIGKILL');
    }
  };
}

const MESSAGE_CRASH_POINTS: readonly string[] = ['message-after-prepare', 'message-after-commit'] satisfies MessageCrashPoint[];

function isMessageCrashPoint(point: string): point is MessageCrashPoint {
  return MESSAGE_CRASH_POINTS.includes(point);
}

/** The transactional-message crash point armed by SAGA_TEST_CRASH_AT, if any. */
export function messageCrashPointFromEnv(
  env: NodeJS.ProcessEnv,
  logger: Logger,
): ((point: MessageCrashPoint, messageId: string) => void) | undefined {
  const spec = env.SAGA_TEST_CRASH_AT;
  if (spec === undefined || spec === '') return undefined;
  const colon = spec.indexOf(':');
  const point = colon < 0 ? spec : spec.slice(0, colon);
  const messageId = colon < 0 ? undefined : spec.slice(colon + 1);
  if (!isMessageCrashPoint(point)) return undefined;
  logger.warn({ point, messageId }, 'test crash point armed');
  return (p, id) => {
    if (p === point && (messageId === undefined || messageId === id)) process.kill(process.pid, 'SIGKILL');
  };
}
