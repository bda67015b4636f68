// Clean-ups a test registers as it starts things (processes, clients, temp
// dirs), run after each test in reverse order, the last started first.

import { afterEach } from 'vitest';

export type Cleanup = () => Promise<unknown> | void;

/** Call at the top of a test file; push a clean-up for each thing a test starts. */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
