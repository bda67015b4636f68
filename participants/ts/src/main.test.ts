import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ParticipantCaller } from './testing/participant-caller.js';

// The process contract (participant protocol, "Start-up"), on the compiled
// entry point: build first (`npx tsc -b sdk participants/ts`).
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'participant-main-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  child: ChildProcessWithoutNullStreams;
  address: string;
  stdout: () => string;
}

function startProcess(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) {
        const { listening } = JSON.parse(line) as { listening: string };
        resolve({ child, address: listening, stdout: () => stdout });
      }
    });
    child.once('exit', (code) => reject(new Error(`participant exited with ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe.skipIf(!existsSync(MAIN))('participant process', () => {
  it('prints the ready line, serves, keeps its data across a restart and exits 0 on SIGTERM', async () => {
    const env = { PARTICIPANT_SERVICE: 'stock', PARTICIPANT_DB: join(dir, 'stock.db'), PARTICIPANT_SEED: '{"stock":{"A":10}}' };
    const first = await startProcess(env);
    expect(first.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const caller = new ParticipantCaller(first.address);
    const deduct = { sagaId: 'saga-1', step: 'deduct-stock', action: 'deduct', payload: { sku: 'A', quantity: 2 } };
    expect(await caller.execute(deduct)).toMatchObject({ kind: 'SUCCEEDED' });
    caller.close();
    expect(await stop(first.child)).toBe(0);
    expect(first.stdout()).toBe(`{"listening":"${first.address}"}\n`);

    // The seed is INSERT OR IGNORE: the restarted process keeps the deducted quantity.
    const second = await startProcess(env);
    const again = new ParticipantCaller(second.address);
    const answer = await again.execute({ ...deduct, sagaId: 'saga-2' });
    expect(answer.kind === 'SUCCEEDED' && JSON.parse(answer.output.toString())).toMatchObject({ remaining: 6 });
    again.close();
    expect(await stop(second.child)).toBe(0);
  });

  it('takes the service from argv[2] and fails clearly without PARTICIPANT_DB', async () => {
    const child = spawn(process.execPath, [MAIN, 'orders'], { env: { ...process.env, PARTICIPANT_DB: '' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PARTICIPANT_DB');
  });
});
