// The console's JSON/SSE API against a real coordinator and participant:
// authorization (viewing open, actions need the operator token), bad input
// answered 400 with the field named, pagination over the store's index, no
// payload bytes unless an operator asks, the CSP header, and the live stream.

import { SagaOutcome } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { step, stepsFor } from '../events/events-fixture.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { consoleFixtures, OPERATOR_TOKEN } from './console-fixture.js';

const start = consoleFixtures();
const CLIENT_TOKEN = 'console-test-client-token';

describe('console API', () => {
  it('with client tokens configured: no token cannot view, a client token views but is refused actions (403), an operator token acts', async () => {
    const name = 'console api client role';
    const fx = await start(name, undefined, { SAGA_CLIENT_TOKENS: CLIENT_TOKEN });
    const sagaId = idFor(name);
    const client = new TestCoordinatorClient(fx.coordinator.address, CLIENT_TOKEN);
    const r = await client.start({ sagaId, name: 'authz', steps: stepsFor('manual'), waitMs: 20_000 }).finally(() => client.close());
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);

    expect((await fx.api(`/api/sagas/${sagaId}`)).status).toBe(401);
    expect((await fx.api('/api/session', { token: CLIENT_TOKEN })).body.roles).toEqual(['client']);
    expect((await fx.api(`/api/sagas/${sagaId}`, { token: CLIENT_TOKEN })).body.saga.state).toBe('MANUAL');
    const refused = await fx.api(`/api/sagas/${sagaId}/resolve`, { body: { note: 'by a client' }, token: CLIENT_TOKEN });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('PERMISSION_DENIED');
    expect((await fx.api(`/api/sagas/${sagaId}`, { token: CLIENT_TOKEN })).body.saga.state).toBe('MANUAL');
    const done = await fx.api(`/api/sagas/${sagaId}/resolve`, { body: { note: 'by the operator' }, token: OPERATOR_TOKEN });
    expect(done.status).toBe(200);
    expect((await fx.api(`/api/sagas/${sagaId}`, { token: CLIENT_TOKEN })).body.saga.state).toBe('RESOLVED');
  });

  it('lets anyone view but only the operator token act, and shows the resolution note', async () => {
    const fx = await start('console api authorization');
    const sagaId = idFor('console api authorization');
    const r = await fx.client.start({ sagaId, name: 'authz', steps: stepsFor('manual'), waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);

    const session = await fx.api('/api/session');
    expect(session.body).toEqual({ roles: ['client'], openForViewing: true });
    expect((await fx.api('/api/session', { token: OPERATOR_TOKEN })).body.roles).toEqual(['client', 'operator']);
    expect((await fx.api('/api/session', { token: 'wrong' })).status).toBe(401);
    expect((await fx.api(`/api/sagas/${sagaId}`)).body.saga.state).toBe('MANUAL');

    for (const [verb, body] of [
      ['retry', {}],
      ['resolve', { note: 'refunded by hand' }],
      ['abort', {}],
    ] as const) {
      const none = await fx.api(`/api/sagas/${sagaId}/${verb}`, { body });
      expect(none.status, verb).toBe(401);
      expect(none.body.error.code).toBe('UNAUTHENTICATED');
      const wrong = await fx.api(`/api/sagas/${sagaId}/${verb}`, { body, token: 'not-the-operator-token' });
      expect(wrong.status, verb).toBe(401);
    }
    expect((await fx.api(`/api/sagas/${sagaId}/steps/reserve/payload`)).status).toBe(401);
    expect((await fx.api('/api/dead-letters/some-event/replay', { body: {} })).status).toBe(401);
    expect((await fx.api('/api/dead-letters/some-event/drop', { body: {}, token: 'wrong' })).status).toBe(401);
    expect((await fx.api('/api/dead-letters/some-event/drop', { body: {}, token: OPERATOR_TOKEN })).status).toBe(404);
    expect((await fx.api('/api/dead-letters')).body).toEqual({ deadLetters: [], nextPageToken: '', total: 0 });
    expect((await fx.api(`/api/sagas/${sagaId}`)).body.saga.state).toBe('MANUAL');

    const resolved = await fx.api(`/api/sagas/${sagaId}/resolve`, { body: { note: 'refunded by hand' }, token: OPERATOR_TOKEN });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toEqual({ state: 'RESOLVED' });
    const after = (await fx.api(`/api/sagas/${sagaId}`)).body.saga;
    expect(after.state).toBe('RESOLVED');
    expect(after.resolutionNote).toBe('refunded by hand');
  });

  it('answers bad input with a 4xx naming the field', async () => {
    const fx = await start('console api bad input');
    const sagaId = idFor('console api bad input');
    await fx.client.start({ sagaId, name: 'bad-input', steps: stepsFor('completed'), waitMs: 20_000 });
    const field = async (path: string, init?: Parameters<typeof fx.api>[1]): Promise<[number, string]> => {
      const a = await fx.api(path, init);
      return [a.status, a.body?.error?.field];
    };
    expect(await field('/api/sagas?state=FINISHED')).toEqual([400, 'state']);
    expect(await field('/api/sagas?pageSize=0')).toEqual([400, 'pageSize']);
    expect(await field('/api/sagas?pageSize=201')).toEqual([400, 'pageSize']);
    expect(await field('/api/sagas?pageSize=ten')).toEqual([400, 'pageSize']);
    expect(await field('/api/sagas?from=yesterday')).toEqual([400, 'from']);
    expect(await field('/api/sagas?from=2000&to=1000')).toEqual([400, 'to']);
    expect(await field('/api/sagas?pageToken=!!')).toEqual([400, 'pageToken']);
    expect(await field('/api/sagas?colour=red')).toEqual([400, 'colour']);
    expect(await field('/api/messages?state=SENT')).toEqual([400, 'state']);
    expect(await field('/api/manual?pageToken=x')).toEqual([400, 'pageToken']);
    expect(await field('/api/dead-letters?pageToken=!!')).toEqual([400, 'pageToken']);
    expect(await field('/api/dead-letters?pageSize=1000')).toEqual([400, 'pageSize']);
    const resolve = `/api/sagas/${sagaId}/resolve`;
    expect(await field(resolve, { body: {}, token: OPERATOR_TOKEN })).toEqual([400, 'note']);
    expect(await field(resolve, { body: { note: '   ' }, token: OPERATOR_TOKEN })).toEqual([400, 'note']);
    expect(await field(resolve, { body: { note: 5 }, token: OPERATOR_TOKEN })).toEqual([400, 'note']);
    expect(await field(resolve, { body: '{not json', token: OPERATOR_TOKEN })).toEqual([400, 'body']);
    expect(await field(resolve, { body: '[1]', token: OPERATOR_TOKEN })).toEqual([400, 'body']);
    expect(await field(resolve, { body: 'note=x', contentType: 'application/x-www-form-urlencoded', token: OPERATOR_TOKEN })).toEqual([400, 'content-type']);
    const messageOf = async (path: string, init?: Parameters<typeof fx.api>[1]): Promise<string> => (await fx.api(path, init)).body.error.message;
    expect(await messageOf('/api/sagas?state=FINISHED')).toMatch(/^state: "FINISHED" is not one of RUNNING/);

    // A COMPLETED saga cannot be resolved or aborted: 409, and nothing changes.
    const conflict = await fx.api(resolve, { body: { note: 'x' }, token: OPERATOR_TOKEN });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('FAILED_PRECONDITION');
    expect((await fx.api(`/api/sagas/${sagaId}/abort`, { body: {}, token: OPERATOR_TOKEN })).status).toBe(409);
    expect((await fx.api('/api/sagas/no-such-saga')).status).toBe(404);
    expect((await fx.api('/api/sagas/no-such-saga/retry', { body: {}, token: OPERATOR_TOKEN })).status).toBe(404);
    expect((await fx.api('/api/sagas', { method: 'DELETE' })).status).toBe(405);
    expect((await fx.api('/api/nothing-here')).status).toBe(404);
  });

  it('pages over the store index, newest first, and counts per state', async () => {
    const fx = await start('console api pagination');
    const name = idFor('console api pagination');
    const started: string[] = [];
    for (let i = 0; i < 23; i++) {
      const sagaId = `${name}-${String(i).padStart(2, '0')}`;
      await fx.client.start({ sagaId, name, steps: stepsFor(i < 20 ? 'completed' : 'compensated'), waitMs: 20_000 });
      started.push(sagaId);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let token = '';
    do {
      const page = await fx.api(`/api/sagas?name=${encodeURIComponent(name)}&pageSize=10${token === '' ? '' : `&pageToken=${token}`}`);
      expect(page.status).toBe(200);
      sizes.push(page.body.sagas.length);
      seen.push(...page.body.sagas.map((s: { sagaId: string }) => s.sagaId));
      token = page.body.nextPageToken;
    } while (token !== '');
    expect(sizes).toEqual([10, 10, 3]);
    expect(seen).toEqual([...started].reverse());

    const compensated = await fx.api(`/api/sagas?name=${encodeURIComponent(name)}&state=COMPENSATED`);
    expect(compensated.body.sagas.map((s: { sagaId: string }) => s.sagaId).sort()).toEqual(started.slice(20));
    const byId = await fx.api(`/api/sagas?id=${encodeURIComponent(started[5]!)}`);
    expect(byId.body.sagas.map((s: { sagaId: string }) => s.sagaId)).toEqual([started[5]]);
    expect((await fx.api(`/api/sagas?id=${encodeURIComponent(started[5]!)}&state=MANUAL`)).body.sagas).toEqual([]);
    expect((await fx.api('/api/sagas?id=no-such-saga')).body.sagas).toEqual([]);
    const created = (await fx.api(`/api/sagas/${started[10]}`)).body.saga.createdAt as number;
    const after = await fx.api(`/api/sagas?name=${encodeURIComponent(name)}&from=${created}&pageSize=200`);
    expect(after.body.sagas.map((s: { sagaId: string }) => s.sagaId)).toEqual(started.slice(10).reverse());

    const counts = await fx.api('/api/counts');
    expect(counts.body.counts).toEqual({ RUNNING: 0, COMPENSATING: 0, COMPLETED: 20, COMPENSATED: 3, MANUAL: 0, RESOLVED: 0 });
  });

  it('shows sizes, not payload bytes, unless an operator asks; sets the CSP header', async () => {
    const fx = await start('console api payloads');
    const sagaId = idFor('console api payloads');
    const secret = 'card=4111-1111-1111-1111';
    const steps = [{ ...step('charge', 'ok', 'undo'), payload: Buffer.from(secret), metadata: { tenant: 'acme-secret-tenant' } }];
    await fx.client.start({ sagaId, name: 'payloads', steps, metadata: { region: 'eu-secret-region' }, waitMs: 20_000 });

    const view = await fx.api(`/api/sagas/${sagaId}`, { token: OPERATOR_TOKEN });
    const text = JSON.stringify(view.body);
    for (const hidden of [secret, Buffer.from(secret).toString('base64'), 'acme-secret-tenant', 'eu-secret-region']) expect(text).not.toContain(hidden);
    expect(view.body.saga.steps[0].payloadBytes).toBe(Buffer.byteLength(secret));
    expect(view.body.saga.steps[0].metadata).toEqual([{ key: 'tenant', valueBytes: 18 }]);
    expect(view.body.saga.metadata).toEqual([{ key: 'region', valueBytes: 16 }]);

    expect((await fx.api(`/api/sagas/${sagaId}/steps/charge/payload`)).status).toBe(401);
    const shown = await fx.api(`/api/sagas/${sagaId}/steps/charge/payload`, { token: OPERATOR_TOKEN });
    expect(shown.body).toEqual({ bytes: secret.length, base64: Buffer.from(secret).toString('base64'), text: secret });
    expect((await fx.api(`/api/sagas/${sagaId}/steps/nope/payload`, { token: OPERATOR_TOKEN })).status).toBe(404);

    for (const path of ['/', '/api/counts']) {
      const csp = (await fx.api(path)).headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).not.toContain('unsafe-inline');
    }
  });

  it('streams saga changes as server-sent events to a fetch with the Authorization header', async () => {
    const fx = await start('console api live stream');
    const res = await fetch(`${fx.consoleUrl}/api/events`, { headers: { authorization: `Bearer ${OPERATOR_TOKEN}` }, signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const sagaId = idFor('console api live stream');
    await fx.client.start({ sagaId, name: 'live', steps: stepsFor('completed'), waitMs: 20_000 });
    await waitFor(async () => {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      text += decoder.decode(value, { stream: true });
      return text.includes(`"sagaId":"${sagaId}","name":"live","state":"COMPLETED"`);
    }, 'the COMPLETED change on the stream');
    expect(text).toContain('event: saga\n');
    await reader.cancel();
    expect((await fetch(`${fx.consoleUrl}/api/events`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });
});
