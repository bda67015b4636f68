// One coordinator per database file, with real processes: a second one on the
// same file is refused (exit 2, one line naming the file and the owner's pid
// and host); once the first is killed with kill -9, a new one starts at once.

import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { testDir } from '../support/test-dir.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

describe('single owner of the database file', () => {
  it('refuses a second coordinator on the same file, and starts one at once after kill -9 of the first', async () => {
    const dir = testDir('single owner refused then kill -9');
    cleanups.push(() => dir.remove());
    const db = dir.file('coordinator.db');
    const first = await startCoordinator({ db, participants: {} });
    const started: ManagedProcess[] = [first];
    cleanups.push(async () => {
      for (const p of started) await p.stop();
    });

    const refused = await startCoordinator({ db, participants: {} }).then(
      (p) => {
        started.push(p);
        return undefined;
      },
      (err: unknown) => (err as Error).message,
    );
    expect(refused).toBeDefined();
    expect(refused).toContain('exited (2) before it was ready');
    expect(refused).toContain(`database ${db} is in use by another coordinator (pid ${first.pid} on host ${hostname()})`);

    await first.crash();
    const next = await startCoordinator({ db, participants: {} });
    started.push(next);
    expect(next.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });
});
