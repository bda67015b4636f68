// A disk that fills up under the log, with real processes: the SQLite file on
// a small tmpfs, filled until a commit fails. The coordinator stops cleanly
// with exit code 1 and the SQLite error; nothing it answered OK is lost; once
// the disk has room again, the restarted coordinator resumes every saga.

import type { StepDefinition } from '@saga/proto';
import { SagaState } from '@saga/proto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ScriptedParticipant } from '../events/scripted-participant.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { idFor, testDir } from '../support/test-dir.js';
import { mountTmpfs } from './tmpfs-mount.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

const PAYLOAD = Buffer.alloc(16 * 1024, 7);

function step(name: string): StepDefinition {
  const retry = { maxAttempts: 3, attemptTimeoutMs: 30_000, initialBackoffMs: 5, maxBackoffMs: 20, backoffMultiplier: 2 };
  return {
    name,
    participant: 'scripted',
    action: 'ok',
    compensateAction: 'undo',
    payload: PAYLOAD,
    dependsOn: [],
    noCompensation: false,
    retry,
    compensationRetry: retry,
    metadata: {},
  };
}

describe('disk full under the log', () => {
  it('exits 1 with the SQLite error, loses nothing answered OK, and resumes every saga on a freed disk', async () => {
    const name = 'disk full exits 1 and resumes';
    const dir = testDir(name);
    cleanups.push(() => dir.remove());
    const mnt = dir.file('disk');
    mkdirSync(mnt);
    const unmount = mountTmpfs(mnt, 8 * 1024 * 1024);
    cleanups.push(unmount);
    const participant = await ScriptedParticipant.start();
    cleanups.push(() => participant.close());
    const db = `${mnt}/coordinator.db`;
    const launch = { db, participants: { scripted: participant.address } };
    const running: ManagedProcess[] = [];
    cleanups.push(async () => {
      for (const p of running) await p.stop();
    });

    const first = await startCoordinator(launch);
    running.push(first);
    const client = new TestCoordinatorClient(first.address);
    cleanups.push(() => client.close());
    // Leave the log about 600 KiB: a few dozen sagas of 16 KiB payloads.
    const free = statfsSync(mnt).bavail * statfsSync(mnt).bsize;
    const filler = `${mnt}/filler`;
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 600 * 1024)));

    const answeredOk: string[] = [];
    let refused: unknown;
    const refusedCodes = new Set<string>();
    for (let round = 0; refused === undefined && round < 200; round++) {
      const ids = Array.from({ length: 8 }, (_, i) => idFor(name, `${round}-${i}`));
      const results = await Promise.allSettled(ids.map((sagaId) => client.start({ sagaId, name: 'fill', steps: [step('a'), step('b')] })));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') answeredOk.push(ids[i] ?? '');
        else {
          refused ??= r.reason;
          const e = r.reason as ServiceError;
          refusedCodes.add(`${status[e.code] ?? e.code}: ${e.details}`);
        }
      });
    }
    expect(refused).toBeDefined();
    // The latched store answers what it could not write, and what came after, as UNAVAILABLE with
    // its reason (retry elsewhere) before the process stops: no dropped connection, never INTERNAL.
    expect([...refusedCodes]).toEqual([
      'UNAVAILABLE: the coordinator lost its durable log and is stopping; retry against another instance or later',
    ]);
    const exit = await first.exited;
    expect(exit.code).toBe(1);
    expect(first.logs()).toContain('SQLITE_FULL');
    expect(answeredOk.length).toBeGreaterThan(0);

    rmSync(filler);
    const second = await startCoordinator(launch);
    running.push(second);
    const again = new TestCoordinatorClient(second.address);
    cleanups.push(() => again.close());
    for (const id of answeredOk) {
      const saga = await again.waitForState(id, [SagaState.SAGA_STATE_COMPLETED], 30_000);
      expect(saga.sagaId).toBe(id);
    }
  });
});
