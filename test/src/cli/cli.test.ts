// The `saga` CLI as operators run it: the real binary as a child process
// against a real coordinator and the order-scenario participants. Every
// command in text and --json, the exit codes (0 ok, 1 call failed, 2 usage),
// and a MANUAL saga handled end to end with `saga manual` → `saga retry`.

import { TxMessageClient } from '@saga/sdk';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/launchers.js';
import { startOrderScenario, type OrderScenario } from '../support/order-scenario.js';
import { idFor, testDir } from '../support/test-dir.js';
import { jsonOf, runSaga, spawnSaga, type CliRun } from './run-cli.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'cli-test-operator-token';
const FAST = { maxAttempts: 3, attemptTimeoutMs: 2000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };

let s: OrderScenario;
let dir: ReturnType<typeof testDir>;
let saga: (args: readonly string[], env?: Record<string, string | undefined>) => Promise<CliRun>;

/** The order saga as a definition file's object; `faults` go into step metadata (participant protocol). */
function order(points: number, faults: { stockCompensate?: string; stockExecute?: string } = {}): Record<string, unknown> {
  const stockMetadata: Record<string, string> = {};
  if (faults.stockCompensate !== undefined) stockMetadata['fault.compensate'] = faults.stockCompensate;
  if (faults.stockExecute !== undefined) stockMetadata['fault.execute'] = faults.stockExecute;
  return {
    name: 'cli-order',
    options: { defaultRetry: FAST, defaultCompensationRetry: FAST },
    steps: [
      { name: 'create-order', participant: 'orders', action: 'create', compensateAction: 'cancel', payload: { userId: 'user-1' } },
      {
        name: 'reserve-stock',
        participant: 'stock',
        action: 'deduct',
        compensateAction: 'restore',
        payload: { sku: 'sku-1', quantity: 1 },
        metadata: stockMetadata,
        // A stock Execute that errors keeps being retried until the test lets it through.
        ...(faults.stockExecute === undefined ? {} : { retry: { maxAttempts: 1000, initialBackoffMs: 50, maxBackoffMs: 200 } }),
      },
      { name: 'deduct-points', participant: 'points', action: 'deduct', compensateAction: 'restore', payload: { userId: 'user-1', points } },
    ],
  };
}

function writeJson(name: string, value: unknown): string {
  const path = dir.file(name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** Starts a saga through the CLI and waits for its outcome. */
async function startAndWait(file: string, sagaId: string): Promise<any> {
  const run = await saga(['--json', 'start', '--file', file, '--saga-id', sagaId, '--wait', '20000']);
  expect(run.code, run.stderr).toBe(0);
  return jsonOf(run);
}

beforeAll(async () => {
  dir = testDir('cli');
  const config = writeJson('coordinator.json', { messages: { subjects: ['orders.>'] } });
  s = await startOrderScenario('cli', { SAGA_OPERATOR_TOKEN: TOKEN, SAGA_CONFIG: config });
  saga = (args, env = {}) => runSaga(['--address', s.coordinator.address, ...args], { SAGA_TOKEN: TOKEN, NO_COLOR: undefined, ...env });
});

afterAll(async () => {
  await s?.close();
  dir?.remove();
});

// Each command is a fresh Node process (1–4 s apiece on a loaded machine): tests that run many get a longer bound.
describe('saga CLI', { timeout: 240_000 }, () => {
  it('health: SERVING in text and JSON; a dead address fails with exit 1 naming the gRPC code', async () => {
    const text = await saga(['health']);
    expect(text).toMatchObject({ code: 0, stdout: 'SERVING\n' });
    const json = await saga(['--json', 'health', '--service', 'saga.v1.Coordinator']);
    expect(json.code).toBe(0);
    expect(jsonOf(json)).toEqual({ service: 'saga.v1.Coordinator', status: 'SERVING' });
    const dead = await runSaga(['--address', `127.0.0.1:${await freePort()}`, '--timeout', '2000', '--json', 'health']);
    expect(dead.code).toBe(1);
    expect(JSON.parse(dead.stderr).error.code).toMatch(/^(UNAVAILABLE|DEADLINE_EXCEEDED)$/);
  });

  it('start --file (JSON and YAML), get, list and watch', async () => {
    const okId = idFor('cli start json');
    const result = await startAndWait(writeJson('ok.json', order(1)), okId);
    expect(result).toMatchObject({ sagaId: okId, created: true, outcome: 'COMPLETED', state: 'COMPLETED' });

    const yamlId = idFor('cli start yaml');
    const yamlFile = dir.file('ok.yaml');
    writeFileSync(
      yamlFile,
      [
        'name: cli-order-yaml',
        `sagaId: ${yamlId}`,
        'steps:',
        '  - name: create-order',
        '    participant: orders',
        '    action: create',
        '    compensateAction: cancel',
        '    payload: { userId: user-1 }',
      ].join('\n'),
    );
    const yamlRun = await saga(['start', '--file', yamlFile, '--wait', '20000']);
    expect(yamlRun.code, yamlRun.stderr).toBe(0);
    expect(yamlRun.stdout).toContain(`saga ${yamlId}: COMPLETED (state COMPLETED, created)`);

    // get: the record in JSON (bytes as base64), the steps × attempts table in text.
    const got = jsonOf(await saga(['--json', 'get', okId]));
    expect(got).toMatchObject({ sagaId: okId, name: 'cli-order', state: 'COMPLETED' });
    expect(got.steps.map((st: any) => st.name)).toEqual(['create-order', 'reserve-stock', 'deduct-points']);
    expect(Buffer.from(got.steps[0].payload, 'base64').toString()).toBe('{"userId":"user-1"}');
    expect(got.steps[2].attempts[0]).toMatchObject({ operation: 'EXECUTE', number: 1, outcome: 'SUCCEEDED' });
    expect(Date.parse(got.createdAt)).not.toBeNaN();
    const table = await saga(['get', okId]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`saga ${okId}  cli-order  COMPLETED`);
    expect(table.stdout).toMatch(/^deduct-points +points +SUCCEEDED\/\S+ +EXECUTE +1 +\+\d+ms +\d+ms +SUCCEEDED/m);
    expect(table.stdout).not.toContain('\u001b['); // not a TTY: no colour

    // list: filters by name, state and --since; JSON and a table.
    const listed = jsonOf(await saga(['--json', 'list', '--name', 'cli-order', '--state', 'completed', '--since', '10m']));
    expect(listed.sagas.map((x: any) => x.sagaId)).toContain(okId);
    expect(listed.sagas.every((x: any) => x.state === 'COMPLETED' && x.name === 'cli-order')).toBe(true);
    expect(jsonOf(await saga(['--json', 'list', '--name', 'cli-order', '--since', '2000-01-01T00:00:00Z', '--state', 'MANUAL'])).sagas).toEqual([]);
    const future = jsonOf(await saga(['--json', 'list', '--name', 'cli-order', '--since', '2999-01-01T00:00:00Z']));
    expect(future).toEqual({ sagas: [], more: false });
    const listText = await saga(['list', '--name', 'cli-order-yaml']);
    expect(listText.stdout).toMatch(new RegExp(`^${yamlId} +cli-order-yaml +SAGA +COMPLETED`, 'm'));
    const limited = jsonOf(await saga(['--json', 'list', '--limit', '1']));
    expect(limited.sagas).toHaveLength(1);
    expect(limited.more).toBe(true);

    // watch of a finished saga: one snapshot, then the stream ends.
    const watched = await saga(['--json', 'watch', okId]);
    expect(watched.code).toBe(0);
    const snapshots = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(snapshots.at(-1)).toMatchObject({ sagaId: okId, state: 'COMPLETED' });
    const watchedText = await saga(['watch', okId]);
    expect(watchedText.stdout).toMatch(/ v\d+ +COMPLETED +create-order=SUCCEEDED\/\S+/);
  });

  it('watch follows a running saga to its outcome, one JSON line per durable change', async () => {
    const sagaId = idFor('cli watch');
    const stockDown = dir.file('watch-stock-down');
    writeFileSync(stockDown, 'down');
    const start = await saga(['--json', 'start', '--file', writeJson('watch.json', order(1, { stockExecute: `error-while-file=${stockDown}` })), '--saga-id', sagaId]);
    expect(start.code, start.stderr).toBe(0);
    expect(jsonOf(start)).toMatchObject({ sagaId, outcome: 'STILL_RUNNING' });
    const watch = spawnSaga(['--address', s.coordinator.address, '--json', 'watch', sagaId]);
    await waitFor(() => watch.stdout().includes('\n'), 'the first snapshot of the watch', 30_000);
    expect(JSON.parse(watch.stdout().split('\n')[0]!).state).toBe('RUNNING');
    rmSync(stockDown);
    const watched = await watch.done;
    expect(watched.code, watched.stderr).toBe(0);
    const snapshots = watched.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(snapshots.length).toBeGreaterThan(1);
    expect(snapshots.at(-1)).toMatchObject({ sagaId, state: 'COMPLETED' });
    // Versions only grow: one line per durable change.
    const versions = snapshots.map((x) => x.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
  });

  it('abort --reason compensates a running saga (text and JSON)', async () => {
    const sagaId = idFor('cli abort');
    const stockDown = dir.file('abort-stock-down');
    writeFileSync(stockDown, 'down');
    const started = await saga(['start', '--file', writeJson('abort.json', order(1, { stockExecute: `error-while-file=${stockDown}` })), '--saga-id', sagaId]);
    expect(started.code, started.stderr).toBe(0);
    const aborted = await saga(['--json', 'abort', sagaId, '--reason', 'customer cancelled']);
    expect(aborted.code, aborted.stderr).toBe(0);
    expect(jsonOf(aborted)).toEqual({ sagaId, state: 'COMPENSATING' });
    rmSync(stockDown);
    const watched = await saga(['--json', 'watch', sagaId]);
    expect(JSON.parse(watched.stdout.trim().split('\n').at(-1)!).state).toBe('COMPENSATED');
    const got = jsonOf(await saga(['--json', 'get', sagaId]));
    expect(got).toMatchObject({ forwardStatus: 'ABORTED', failureReason: 'customer cancelled' });
    const again = await saga(['abort', sagaId, '--reason', 'again']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^saga: AbortSaga failed: FAILED_PRECONDITION/);
    const text = await saga(['abort', idFor('cli abort unknown'), '--reason', 'x']);
    expect(text.stderr).toMatch(/^saga: AbortSaga failed: NOT_FOUND/);
  });

  it('handles a MANUAL saga end to end: saga manual lists it oldest first with its reason, saga retry finishes it', async () => {
    const broken = dir.file('stock-is-broken');
    writeFileSync(broken, 'restore is down');
    const first = idFor('cli manual first');
    const second = idFor('cli manual second');
    // 100000 points fail; compensating reserve-stock errors while the file exists.
    const file = writeJson('manual.json', order(100_000, { stockCompensate: `error-while-file=${broken}` }));
    expect(await startAndWait(file, first)).toMatchObject({ outcome: 'MANUAL', failedStep: 'deduct-points' });
    expect(await startAndWait(file, second)).toMatchObject({ outcome: 'MANUAL' });

    const queue = jsonOf(await saga(['--json', 'manual']));
    const ids = queue.sagas.map((x: any) => x.sagaId);
    expect(ids.indexOf(first)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(first)).toBeLessThan(ids.indexOf(second));
    expect(queue.sagas.find((x: any) => x.sagaId === first)).toMatchObject({ state: 'MANUAL', failedStep: 'deduct-points' });
    expect(queue.sagas.find((x: any) => x.sagaId === first).failureReason).toContain('reserve-stock');
    const queueText = await saga(['manual']);
    expect(queueText.stdout).toMatch(/^SAGA +NAME +MANUAL SINCE +FAILED STEP +REASON/);
    expect(queueText.stdout).toMatch(new RegExp(`^${first} +cli-order +\\S+ +deduct-points +.*reserve-stock`, 'm'));

    // The operator reads the compensation log, fixes the participant, and retries.
    const log = await saga(['get', first]);
    expect(log.stdout).toMatch(/COMPENSATE +3 +.*ERROR/);
    rmSync(broken);
    expect(existsSync(broken)).toBe(false);
    const retried = await saga(['retry', first]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe(`saga ${first}: compensation re-driven, now COMPENSATING\n`);
    const watched = await saga(['--json', 'watch', first]);
    expect(JSON.parse(watched.stdout.trim().split('\n').at(-1)!).state).toBe('COMPENSATED');
    expect(jsonOf(await saga(['--json', 'manual'])).sagas.map((x: any) => x.sagaId)).not.toContain(first);

    // The other one is resolved by hand with a note.
    const resolved = await saga(['--json', 'resolve', second, '--note', 'stock restored by hand, OPS-7']);
    expect(jsonOf(resolved)).toEqual({ sagaId: second, state: 'RESOLVED' });
    expect(jsonOf(await saga(['--json', 'get', second])).resolutionNote).toBe('stock restored by hand, OPS-7');
    const retryResolved = await saga(['--json', 'retry', second]);
    expect(retryResolved.code).toBe(1);
    expect(JSON.parse(retryResolved.stderr).error).toMatchObject({ method: 'RetrySaga', code: 'FAILED_PRECONDITION' });
  });

  it('messages get: a prepared transactional message in text and JSON', async () => {
    const client = new TxMessageClient({ address: s.coordinator.address });
    const messageId = idFor('cli message');
    try {
      await client.prepare({ messageId, subject: 'orders.created', key: 'order-1', payload: { orderId: 'order-1' } }, 'orders');
    } finally {
      client.close();
    }
    const json = jsonOf(await saga(['--json', 'messages', 'get', messageId]));
    expect(json).toMatchObject({ messageId, subject: 'orders.created', key: 'order-1', producer: 'orders', state: 'PREPARED' });
    expect(Buffer.from(json.payload, 'base64').toString()).toBe('{"orderId":"order-1"}');
    const text = await saga(['messages', 'get', messageId]);
    expect(text.stdout).toContain(`message ${messageId}  PREPARED`);
    const unknown = await saga(['messages', 'get', 'no-such-message']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('GetMessage failed: NOT_FOUND');
  });

  it('messages list: filters by state, subject, key, producer and time, in text and JSON; exit 2 for bad flags, 1 for a refused call', async () => {
    const client = new TxMessageClient({ address: s.coordinator.address });
    const key = idFor('cli messages list key');
    const committed = idFor('cli messages list committed');
    const prepared = idFor('cli messages list prepared');
    const rolledBack = idFor('cli messages list rolled back');
    try {
      await client.prepare({ messageId: committed, subject: 'orders.created', key, checkPolicy: { checkAfterMs: 3_600_000 } }, 'orders');
      await client.commit(committed);
      await client.prepare({ messageId: prepared, subject: 'orders.created', key, checkPolicy: { checkAfterMs: 3_600_000 } }, 'orders');
      await client.prepare({ messageId: rolledBack, subject: 'orders.cancelled', key, checkPolicy: { checkAfterMs: 3_600_000 } }, 'orders');
      await client.rollback(rolledBack, 'out of stock');
    } finally {
      client.close();
    }
    const listed = async (...args: string[]): Promise<any> => {
      const run = await saga(['--json', 'messages', 'list', '--key', key, ...args]);
      expect(run.code, run.stderr).toBe(0);
      return jsonOf(run);
    };
    const all = await listed();
    expect(all.more).toBe(false);
    expect(all.messages.map((m: any) => m.messageId).sort()).toEqual([committed, prepared, rolledBack].sort());
    expect(all.messages.every((m: any) => m.key === key && m.producer === 'orders' && !Number.isNaN(Date.parse(m.createdAt)))).toBe(true);
    expect((await listed('--state', 'committed')).messages).toMatchObject([{ messageId: committed, state: 'COMMITTED', subject: 'orders.created' }]);
    expect((await listed('--state', 'PREPARED,rolled_back')).messages.map((m: any) => m.messageId).sort()).toEqual([prepared, rolledBack].sort());
    expect((await listed('--subject', 'orders.cancelled')).messages).toMatchObject([{ messageId: rolledBack, state: 'ROLLED_BACK', reason: 'out of stock' }]);
    expect((await listed('--producer', 'orders', '--since', '10m', '--until', '2999-01-01T00:00:00Z')).messages).toHaveLength(3);
    expect(await listed('--since', '2999-01-01T00:00:00Z')).toEqual({ messages: [], more: false });
    expect(await listed('--until', '2000-01-01T00:00:00Z')).toEqual({ messages: [], more: false });
    const limited = await listed('--limit', '2');
    expect(limited.messages).toHaveLength(2);
    expect(limited.more).toBe(true);

    const text = await saga(['messages', 'list', '--key', key]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^MESSAGE +SUBJECT +KEY +PRODUCER +STATE +CREATED +CHECKS +NEXT CHECK +PUBLISHED +REASON\n/);
    expect(text.stdout).toMatch(new RegExp(`^${rolledBack} +orders\\.cancelled +${key} +orders +ROLLED_BACK +\\S+ +0/15 +- +- +out of stock$`, 'm'));
    expect(text.stdout).toMatch(new RegExp(`^${prepared} +orders\\.created +${key} +orders +PREPARED +\\S+ +0/15 +\\d{4}-`, 'm'));
    expect(text.stdout).not.toContain('\u001b[');
    expect(await saga(['messages', 'list', '--key', `${key}-none`])).toMatchObject({ code: 0, stdout: 'no messages\n' });

    for (const [args, message] of [
      [['--state', 'sleeping'], '--state: unknown state "sleeping" (one of PREPARED, COMMITTED, ROLLED_BACK, DISCARDED)'],
      [['--until', 'yesterday'], '--until: "yesterday" is neither'],
      [['--since', '1m', '--until', '2m'], '--until: must be later than --since'],
      [['--limit', '0'], '--limit: must be a whole number > 0'],
    ] as const) {
      const run = await saga(['messages', 'list', ...args]);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toContain(message);
    }
    const refused = await saga(['--json', 'messages', 'list', '--key', 'k'.repeat(600)]);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error).toMatchObject({ method: 'ListMessages', code: 'INVALID_ARGUMENT' });
    expect(JSON.parse(refused.stderr).error.details).toMatch(/^key: /);
  });

  it('dead-letters list, replay and drop (text and JSON); an unknown event id answers NOT_FOUND', async () => {
    expect(await saga(['dead-letters', 'list'])).toMatchObject({ code: 0, stdout: 'no dead letters\n' });
    expect(jsonOf(await saga(['--json', 'dead-letters', 'list']))).toEqual({ deadLetters: [] });
    for (const verb of ['replay', 'drop']) {
      const run = await saga(['--json', 'dead-letters', verb, 'no-such-event']);
      expect(run.code, `${verb}: ${run.stderr}`).toBe(1);
      expect(JSON.parse(run.stderr).error).toMatchObject({ method: verb === 'replay' ? 'ReplayDeadLetter' : 'DropDeadLetter', code: 'NOT_FOUND' });
    }
    const unauthenticated = await saga(['dead-letters', 'list'], { SAGA_TOKEN: undefined });
    expect(unauthenticated.code).toBe(1);
    expect(unauthenticated.stderr).toMatch(/^saga: ListDeadLetters failed: UNAUTHENTICATED/);
  });

  it('sends the token from SAGA_TOKEN or --token; without it the coordinator answers UNAUTHENTICATED', async () => {
    const sagaId = idFor('cli token');
    await startAndWait(writeJson('token.json', order(1)), sagaId);
    const none = await saga(['--json', 'abort', sagaId, '--reason', 'x'], { SAGA_TOKEN: undefined });
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stderr).error).toMatchObject({ method: 'AbortSaga', code: 'UNAUTHENTICATED' });
    const wrong = await saga(['--token', 'wrong', 'abort', sagaId, '--reason', 'x'], { SAGA_TOKEN: undefined });
    expect(wrong.stderr).toContain('UNAUTHENTICATED');
    // The right token passes authentication; the finished saga then refuses the abort.
    const right = await saga(['--token', TOKEN, 'abort', sagaId, '--reason', 'x'], { SAGA_TOKEN: undefined });
    expect(right.stderr).toContain('FAILED_PRECONDITION');
  });

  it('exit 2 for usage errors, exit 1 naming the gRPC code and the field for a refused call', async () => {
    const usage = async (args: string[], text: string | RegExp): Promise<void> => {
      const run = await saga(args);
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(text);
      expect(run.stdout).toBe('');
    };
    await usage(['bogus'], "unknown command 'bogus'");
    await usage(['start'], "required option '--file <path>' not specified");
    await usage(['get'], "missing required argument 'saga-id'");
    await usage(['abort', 'x'], "required option '--reason <text>'");
    await usage(['list', '--state', 'sleeping'], '--state: unknown state "sleeping"');
    await usage(['list', '--since', 'yesterday'], '--since: "yesterday" is neither');
    await usage(['list', '--limit', '0'], '--limit: must be a whole number > 0');
    await usage(['--timeout', 'soon', 'health'], '--timeout: must be a whole number > 0');
    await usage(['--tls-cert', dir.file('nope.pem'), 'health'], '--tls-cert and --tls-key: give both or neither');
    await usage(['--tls-ca', dir.file('nope.pem'), 'health'], /--tls-ca: cannot read .*nope\.pem: ENOENT/);
    await usage(['start', '--file', dir.file('missing.json')], /--file: cannot read .*missing\.json: ENOENT/);
    const badYaml = dir.file('bad.yaml');
    writeFileSync(badYaml, 'name: [unclosed');
    await usage(['start', '--file', badYaml], /bad\.yaml: not valid YAML/);
    await usage(['start', '--file', writeJson('typo.json', { name: 'x', steps: [{ name: 'a', participant: 'orders', action: 'x', compensate_action: 'y' }] })], 'steps[0].compensate_action: unknown field');
    await usage(['start', '--file', writeJson('type.json', { name: 'x', steps: [{ name: 'a', participant: 'orders', action: 'x', retry: { maxAttempts: -1 } }] })], 'steps[0].retry.maxAttempts must be');

    const refused = await saga(['--json', 'start', '--file', writeJson('unknown.json', { name: 'x', steps: [{ name: 'a', participant: 'nobody', action: 'x' }] })]);
    expect(refused.code).toBe(1);
    const error = JSON.parse(refused.stderr).error;
    expect(error).toMatchObject({ method: 'StartSaga', code: 'INVALID_ARGUMENT' });
    expect(error.details).toMatch(/^steps\[0\]\.participant: /);
    const refusedText = await saga(['start', '--file', dir.file('unknown.json')]);
    expect(refusedText.stderr).toMatch(/^saga: StartSaga failed: INVALID_ARGUMENT: steps\[0\]\.participant: /);
    const help = await saga(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: saga');
  });
});
