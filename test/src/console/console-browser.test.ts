// The web console in a real browser (Debian's chromium, headless, through
// playwright-core) against a real coordinator and participant: the list and
// its filters, a compensated saga's timeline, a MANUAL saga retried after its
// participant is fixed, Resolve with a note, actions refused without the
// operator role, and live updates without a reload. Each page is saved as a
// screenshot under test-artifacts/console/.

import { SagaOutcome, SagaState, TransactionKind } from '@saga/proto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { step, stepsFor } from '../events/events-fixture.js';
import { MessageRpcClient } from '../messages/message-rpc-client.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { launchChromium, screenshot, type Browser } from './chromium.js';
import { consoleFixtures, OPERATOR_TOKEN, type ConsoleFixture } from './console-fixture.js';

const start = consoleFixtures();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

async function open(fx: ConsoleFixture, hash: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${fx.consoleUrl}/${hash}`);
  await page.locator('[data-testid=roles]').filter({ hasText: 'roles:' }).waitFor();
  return page;
}

/** Same-document navigation: the in-memory token survives it. */
async function go(page: Page, hash: string): Promise<void> {
  await page.evaluate((h) => ((globalThis as any).location.hash = h), hash);
}

async function signIn(page: Page, token = OPERATOR_TOKEN): Promise<void> {
  await page.fill('#token-input', token);
  await page.click('button:has-text("Sign in")');
  await page.locator('[data-testid=roles]').filter({ hasText: 'operator' }).waitFor();
}

async function listedIds(page: Page): Promise<string[]> {
  return page.locator('table[aria-label="Sagas"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-saga-id') ?? ''));
}

async function waitForListed(page: Page, want: string[], what: string): Promise<void> {
  const sorted = [...want].sort();
  await waitFor(async () => JSON.stringify((await listedIds(page)).sort()) === JSON.stringify(sorted), what);
}

async function applyFilters(page: Page, f: { state?: string; name?: string; id?: string; from?: string }): Promise<void> {
  await page.selectOption('select[name=state]', f.state ?? '');
  await page.fill('input[name=name]', f.name ?? '');
  await page.fill('input[name=id]', f.id ?? '');
  await page.fill('input[name=from]', f.from ?? '');
  await page.click('button:has-text("Apply filters")');
}

describe('web console in chromium', () => {
  it('lists the sagas started in the test and filters them by state, name, time and id', async () => {
    const fx = await start('console browser list');
    const nameA = idFor('console browser list', 'a');
    const nameB = idFor('console browser list', 'b');
    const a1 = idFor('console browser list', 'a1');
    const a2 = idFor('console browser list', 'a2');
    const b1 = idFor('console browser list', 'b1');
    await fx.client.start({ sagaId: a1, name: nameA, steps: stepsFor('completed'), waitMs: 20_000 });
    await fx.client.start({ sagaId: a2, name: nameA, steps: stepsFor('completed'), waitMs: 20_000 });
    await fx.client.start({ sagaId: b1, name: nameB, steps: stepsFor('compensated'), waitMs: 20_000 });

    const page = await open(fx, '#/sagas');
    await waitForListed(page, [a1, a2, b1], 'the three sagas listed');
    await page.locator('[data-testid=count-COMPLETED]').filter({ hasText: /^2$/ }).waitFor();
    await page.locator('[data-testid=count-COMPENSATED]').filter({ hasText: /^1$/ }).waitFor();
    await screenshot(page, 'sagas-list');

    await applyFilters(page, { state: 'COMPENSATED' });
    await waitForListed(page, [b1], 'only the compensated saga');
    await applyFilters(page, { name: nameA });
    await waitForListed(page, [a1, a2], 'the sagas named A');
    await applyFilters(page, { id: a2 });
    await waitForListed(page, [a2], 'the saga searched by id');
    const inTwoMinutes = await page.evaluate(() => {
      const d = new Date(Date.now() + 120_000);
      const p = (n: number): string => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await applyFilters(page, { from: inTwoMinutes });
    await page.locator('text=No saga matches.').waitFor();
    expect(await listedIds(page)).toEqual([]);
    await page.click('button:has-text("Clear")');
    await waitForListed(page, [a1, a2, b1], 'all three again after Clear');

    const narrow = await browser.newPage({ width: 390, height: 844 });
    await narrow.goto(`${fx.consoleUrl}/#/sagas`);
    await waitForListed(narrow, [a1, a2, b1], 'the list on a narrow screen');
    await screenshot(narrow, 'sagas-list-narrow');
    await narrow.close();
    await page.close();
  });

  // The failed step is compensated too (its call may have had effects), first.
  it("shows a compensated saga's timeline with the compensations in reverse order", async () => {
    const fx = await start('console browser timeline');
    const sagaId = idFor('console browser timeline');
    const steps = [step('reserve', 'ok', 'undo'), step('charge', 'ok', 'undo'), step('ship', 'fail', 'undo')];
    const r = await fx.client.start({ sagaId, name: 'order', steps, waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);

    const page = await open(fx, `#/saga/${encodeURIComponent(sagaId)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPENSATED' }).waitFor();
    const rows = await page
      .locator('table.attempts tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-step'), tr.getAttribute('data-operation'), tr.getAttribute('data-outcome')]));
    expect(rows).toEqual([
      ['reserve', 'execute', 'SUCCEEDED'],
      ['charge', 'execute', 'SUCCEEDED'],
      ['ship', 'execute', 'FAILED'],
      ['ship', 'compensate', 'SUCCEEDED'],
      ['charge', 'compensate', 'SUCCEEDED'],
      ['reserve', 'compensate', 'SUCCEEDED'],
    ]);
    expect(await page.locator('svg.timeline g.bar.op-compensate').count()).toBe(3);
    expect(await page.locator('svg.timeline g.bar.op-execute').count()).toBe(3);
    const looks = await page.locator('g.node').evaluateAll((gs) => gs.map((g) => [g.getAttribute('data-step'), g.getAttribute('data-look')]));
    expect(looks).toEqual([
      ['reserve', 'compensated'],
      ['charge', 'compensated'],
      ['ship', 'compensated'],
    ]);
    await page.locator('[data-testid=failure-reason]').filter({ hasText: 'ship' }).waitFor();
    await screenshot(page, 'saga-compensated');
    await page.close();
  });

  it('shows a TCC transaction as such: its kind in the list, its phase, and Try/Confirm/Cancel per branch', async () => {
    const fx = await start('console browser tcc');
    const confirmed = idFor('console browser tcc', 'confirmed');
    const cancelled = idFor('console browser tcc', 'cancelled');
    const plain = idFor('console browser tcc', 'saga');
    const name = idFor('console browser tcc', 'name');
    const tcc = async (sagaId: string, pointsTry: string): Promise<void> => {
      const r = await fx.client.start({ sagaId, name, kind: TransactionKind.TRANSACTION_KIND_TCC, steps: [step('stock', 'ok', ''), step('points', pointsTry, '')], waitMs: 20_000 });
      expect(r.outcome).toBe(pointsTry === 'ok' ? SagaOutcome.SAGA_OUTCOME_COMPLETED : SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    };
    await tcc(confirmed, 'ok');
    await tcc(cancelled, 'fail');
    await fx.client.start({ sagaId: plain, name, steps: stepsFor('completed'), waitMs: 20_000 });

    const page = await open(fx, '#/sagas');
    await waitForListed(page, [confirmed, cancelled, plain], 'the two TCC transactions and the saga');
    const kindOf = async (id: string): Promise<string> => (await page.locator(`tr[data-saga-id="${id}"] [data-testid=kind]`).allTextContents()).join('');
    expect([await kindOf(confirmed), await kindOf(cancelled), await kindOf(plain)]).toEqual(['TCC', 'TCC', '']);

    await go(page, `#/saga/${encodeURIComponent(confirmed)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPLETED' }).waitFor();
    expect(await page.locator('#saga-title [data-testid=kind]').textContent()).toBe('TCC');
    expect(await page.locator('[data-testid=phase]').textContent()).toBe('CONFIRM');
    const statuses = (p: Page) =>
      p.locator('table[aria-label=Branches] tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [tr.getAttribute('data-step'), ...[...tr.querySelectorAll('td[data-status]')].map((td) => td.textContent)]),
      );
    expect(await statuses(page)).toEqual([
      ['stock', 'SUCCEEDED', 'SUCCEEDED', 'SKIPPED'],
      ['points', 'SUCCEEDED', 'SUCCEEDED', 'SKIPPED'],
    ]);
    const ops = (p: Page) =>
      p.locator('table.attempts tbody tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-step'), tr.getAttribute('data-operation'), tr.getAttribute('data-outcome')]));
    expect(await ops(page)).toEqual([
      ['stock', 'try', 'SUCCEEDED'],
      ['points', 'try', 'SUCCEEDED'],
      ['stock', 'confirm', 'SUCCEEDED'],
      ['points', 'confirm', 'SUCCEEDED'],
    ]);
    expect(await page.locator('svg.timeline g.bar.op-confirm').count()).toBe(2);
    await screenshot(page, 'tcc-confirmed');

    await go(page, `#/saga/${encodeURIComponent(cancelled)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPENSATED' }).waitFor();
    expect(await page.locator('[data-testid=phase]').textContent()).toBe('CANCEL');
    const cancelledOps = await ops(page);
    expect(cancelledOps.filter((o) => o[1] === 'confirm')).toEqual([]);
    expect(cancelledOps.filter((o) => o[1] === 'try')).toEqual([
      ['stock', 'try', 'SUCCEEDED'],
      ['points', 'try', 'FAILED'],
    ]);
    expect(cancelledOps.filter((o) => o[1] === 'cancel').map((o) => o[0])).toContain('stock');

    await go(page, `#/saga/${encodeURIComponent(plain)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPLETED' }).waitFor();
    expect(await page.locator('#saga-title [data-testid=kind]').count()).toBe(0);
    expect(await page.locator('table[aria-label=Steps] thead').textContent()).toContain('Compensate');
    await page.close();
  });

  it('marks an attempt re-sent after a coordinator restart on the timeline', async () => {
    const fx = await start('console browser resent', undefined, { SAGA_TEST_CRASH_AT: 'after-dispatch-commit:charge:execute' });
    const sagaId = idFor('console browser resent');
    // The coordinator kills itself once the dispatch of charge is durable, before the call goes out.
    await fx.client.start({ sagaId, name: 'order', steps: stepsFor('completed'), waitMs: 20_000 }).catch(() => undefined);
    await fx.coordinator.exited;
    await fx.restartCoordinator({ env: { SAGA_TEST_CRASH_AT: '' } });
    await fx.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);

    const page = await open(fx, `#/saga/${encodeURIComponent(sagaId)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPLETED' }).waitFor();
    const charge = page.locator('table.attempts tbody tr[data-step="charge"][data-operation="execute"]');
    expect(await charge.count()).toBe(1);
    expect(await charge.locator('td').last().textContent()).toBe('1');
    expect(await page.locator('svg.timeline text.resent').allTextContents()).toEqual(['↻1']);
    await screenshot(page, 'saga-resent');
    await page.close();
  });

  it('retries a MANUAL saga from the queue after its participant is fixed, and it turns COMPENSATED', async () => {
    const fx = await start('console browser retry');
    const sagaId = idFor('console browser retry');
    const steps = [step('reserve', 'ok', 'undo-broken'), step('charge', 'fail', 'undo')];
    const r = await fx.client.start({ sagaId, name: 'order', steps, waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);

    const page = await open(fx, '#/manual');
    await signIn(page);
    const row = page.locator(`tr[data-saga-id="${sagaId}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('reserve');
    await screenshot(page, 'manual-queue');

    fx.participant.fixUndo();
    await row.locator('button:has-text("Retry")').click();
    await page.locator('dialog[open]').waitFor();
    await screenshot(page, 'manual-retry-confirm');
    await page.click('dialog button:has-text("Retry compensation")');
    await fx.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED]);
    await row.waitFor({ state: 'detached' });

    await go(page, `#/saga/${encodeURIComponent(sagaId)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'COMPENSATED' }).waitFor();
    const reserve = await page
      .locator('table.attempts tbody tr[data-step="reserve"][data-operation="compensate"]')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-outcome')));
    expect(reserve.at(0)).toBe('FAILED');
    expect(reserve.at(-1)).toBe('SUCCEEDED');
    await page.close();
  });

  it('resolves a MANUAL saga with a note, by keyboard, and shows the note', async () => {
    const fx = await start('console browser resolve');
    const sagaId = idFor('console browser resolve');
    await fx.client.start({ sagaId, name: 'order', steps: stepsFor('manual'), waitMs: 20_000 });
    const page = await open(fx, `#/saga/${encodeURIComponent(sagaId)}`);
    await signIn(page);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'MANUAL' }).waitFor();
    await page.focus('button:has-text("Resolve")');
    await page.keyboard.press('Enter');
    await page.locator('dialog[open]').waitFor();
    expect(await page.locator('dialog button:has-text("Resolve saga")').isDisabled()).toBe(true);
    const note = 'Stock released by hand in the warehouse system, ticket OPS-1234';
    await page.keyboard.type(note);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=resolution-note]').filter({ hasText: note }).waitFor();
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'RESOLVED' }).waitFor();
    expect((await fx.client.get(sagaId)).resolutionNote).toBe(note);
    await screenshot(page, 'saga-resolved');
    await page.close();
  });

  it('refuses actions without the operator role, in the UI and by the API', async () => {
    const fx = await start('console browser no operator');
    const sagaId = idFor('console browser no operator');
    await fx.client.start({ sagaId, name: 'order', steps: stepsFor('manual'), waitMs: 20_000 });
    const page = await open(fx, `#/saga/${encodeURIComponent(sagaId)}`);
    await page.locator('[data-testid=saga-state]').filter({ hasText: 'MANUAL' }).waitFor();
    for (const label of ['Retry', 'Resolve']) expect(await page.locator(`.actions button:has-text("${label}")`).isDisabled(), label).toBe(true);
    await page.locator('text=Needs the operator role').first().waitFor();
    expect(await page.locator('button:has-text("show")').count()).toBe(0);

    const statuses = await page.evaluate(async (id) => {
      const post = async (verb: string, body: unknown): Promise<number> =>
        (await fetch(`/api/sagas/${encodeURIComponent(id)}/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).status;
      return [await post('retry', {}), await post('resolve', { note: 'sneaky' })];
    }, sagaId);
    expect(statuses).toEqual([401, 401]);

    await page.fill('#token-input', 'not-the-operator-token');
    await page.click('button:has-text("Sign in")');
    await page.locator('.session [role=alert]').filter({ hasText: 'not accepted' }).waitFor();
    expect(await page.locator('.actions button:has-text("Retry")').isDisabled()).toBe(true);
    expect((await fx.client.get(sagaId)).state).toBe(SagaState.SAGA_STATE_MANUAL);
    await screenshot(page, 'saga-manual-viewer');
    await page.close();
  });

  it('updates the list and a saga live, without a reload', async () => {
    const fx = await start('console browser live');
    const page = await open(fx, '#/sagas');
    await page.locator('[data-testid=live]').filter({ hasText: 'live' }).waitFor();
    await page.evaluate(() => ((globalThis as any).notReloaded = true));

    const sagaId = idFor('console browser live');
    await fx.client.start({ sagaId, name: 'held', steps: stepsFor('slow-compensation'), waitMs: 0 });
    await waitFor(() => fx.participant.heldFor(sagaId) > 0, 'the held compensation');
    await page.locator(`tr[data-saga-id="${sagaId}"][data-state="COMPENSATING"]`).waitFor();
    await page.locator('[data-testid=count-COMPENSATING]').filter({ hasText: /^1$/ }).waitFor();

    const detail = await open(fx, `#/saga/${encodeURIComponent(sagaId)}`);
    await detail.locator('[data-testid=saga-state]').filter({ hasText: 'COMPENSATING' }).waitFor();
    await detail.evaluate(() => ((globalThis as any).notReloaded = true));
    fx.participant.release(sagaId);
    await page.locator(`tr[data-saga-id="${sagaId}"][data-state="COMPENSATED"]`).waitFor();
    await page.locator('[data-testid=count-COMPENSATED]').filter({ hasText: /^1$/ }).waitFor();
    await detail.locator('[data-testid=saga-state]').filter({ hasText: 'COMPENSATED' }).waitFor();
    for (const p of [page, detail]) expect(await p.evaluate(() => (globalThis as any).notReloaded)).toBe(true);
    await page.close();
    await detail.close();
  });

  it('shows health, alerts and transactional messages', async () => {
    const fx = await start('console browser health', { messages: { subjects: ['orders.>'] } });
    const manualId = idFor('console browser health', 'manual');
    await fx.client.start({ sagaId: manualId, name: 'order', steps: stepsFor('manual'), waitMs: 20_000 });
    await fx.client.start({ sagaId: idFor('console browser health', 'ok'), name: 'order', steps: stepsFor('compensated'), waitMs: 20_000 });
    const messages = new MessageRpcClient(fx.coordinator.address);
    try {
      const committed = await messages.prepare({ subject: 'orders.created', key: 'order-1', producer: 'scripted', payload: Buffer.from('{}') });
      await messages.commit(committed.messageId);
      const rolledBack = await messages.prepare({ subject: 'orders.created', key: 'order-2', producer: 'scripted' });
      await messages.rollback(rolledBack.messageId, 'order cancelled');
      await messages.prepare({ subject: 'orders.created', key: 'order-3', producer: 'scripted' });

      const page = await open(fx, '#/health');
      await page.locator('[data-testid=manual-count]').filter({ hasText: /^1$/ }).waitFor();
      await page.locator('[data-testid=success-rate]').filter({ hasText: '50.0 %' }).waitFor();
      expect(await page.locator('table[aria-label="Alert rules"] tbody tr').count()).toBe(3);
      await screenshot(page, 'health');

      await go(page, '#/messages');
      for (const id of [committed.messageId, rolledBack.messageId]) await page.locator(`tr[data-message-id="${id}"]`).waitFor();
      expect(await page.locator(`tr[data-message-id="${rolledBack.messageId}"] td.reason`).textContent()).toBe('order cancelled');
      await page.locator('#dead-letters-title').filter({ hasText: 'Dead letters (0)' }).waitFor();
      await screenshot(page, 'messages');
      await page.close();
    } finally {
      messages.close();
    }
  });
});
