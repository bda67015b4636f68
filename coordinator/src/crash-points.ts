// Test-only crash injection: SAGA_TEST_CRASH_AT="<point>:<step>:<operation>"
// makes the process SIGKILL itself the first time that point is reached for
// that step and operation, exactly like `kill -9` at that instant. Points:
//   after-dispatch-commit  the dispatch intent is durable, the RPC not yet sent
//   before-result-commit   the participant answered, the result is not yet durable
//   after-outbox-publish   JetStream acknowledged an event; the outbox row is not
//                          yet marked sent (step/operation are ignored)
// Unset (the default) = no crash points at all.

import type { Logger } from 'pino';
import type { CrashPoint, EngineHooks } from './engine/saga-engine.js';

export function crashPointFromEnv(env: NodeJS.ProcessEnv, logger: Logger): EngineHooks['crashPoint'] {
  const spec = env.SAGA_TEST_CRASH_AT;
  if (spec === undefined || spec === '') return undefined;
  const [point, step, operation] = spec.split(':') as [CrashPoint, string | undefined, string | undefined];
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
