// Measures the web console against a large store: the bundle's size, and how
// long the sagas page takes in chromium until its first rows and its counts
// per state are shown, with N finished sagas in the store (prefilled copies of
// a real one). Prints figures; run it on a quiet machine:
//   npm run bench:console -- [--sagas 100000] [--loads 5]

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Args } from '../bench/args.js';
import { prefillFinishedSagas } from '../bench/prefill.js';
import { ScriptedParticipant } from '../events/scripted-participant.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { startCoordinator } from '../support/launchers.js';
import { REPO_ROOT } from '../support/repo-paths.js';
import { testDir } from '../support/test-dir.js';
import { launchChromium } from './chromium.js';

async function main(): Promise<void> {
  const args = new Args(process.argv.slice(2));
  const sagas = args.number('sagas', 100_000);
  const loads = args.number('loads', 5);
  args.rejectUnknown();

  const assets = join(REPO_ROOT, 'console', 'dist', 'assets');
  let raw = 0;
  let gzip = 0;
  for (const f of readdirSync(assets)) {
    const body = readFileSync(join(assets, f));
    raw += body.length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  console.log(JSON.stringify({ figure: 'bundle', files: readdirSync(assets), rawBytes: raw, gzipBytes: gzip }));

  const dir = testDir('console load bench');
  const participant = await ScriptedParticipant.start();
  const db = dir.file('coordinator.db');
  try {
    const setup = await startCoordinator({ db, participants: { scripted: participant.address } });
    const client = new TestCoordinatorClient(setup.address);
    // The template the prefill copies: one step on the scripted participant (events-fixture imports vitest).
    const only = { name: 'reserve', participant: 'scripted', action: 'ok', compensateAction: 'undo', payload: Buffer.alloc(0), dependsOn: [], noCompensation: false, retry: undefined, compensationRetry: undefined, metadata: {} };
    await client.start({ sagaId: 'console-bench-template', name: 'order', steps: [only], waitMs: 20_000 });
    client.close();
    await setup.stop();
    const t0 = Date.now();
    await prefillFinishedSagas(db, sagas, { ageMs: 60_000, maxOutbox: 0 }, () => undefined);
    console.error(`prefilled ${sagas} sagas in ${Date.now() - t0} ms`);

    const coordinator = await startCoordinator({ db, participants: { scripted: participant.address }, env: { SAGA_CONSOLE_LISTEN: '127.0.0.1:0' } });
    const url = `http://${coordinator.endpoint('console')}`;
    const browser = await launchChromium();
    try {
      const api: Record<string, number[]> = { '/api/sagas?pageSize=25': [], '/api/counts': [] };
      const pageMs: number[] = [];
      for (let i = 0; i < loads; i++) {
        for (const path of Object.keys(api)) {
          const s = performance.now();
          const res = await fetch(`${url}${path}`);
          await res.arrayBuffer();
          api[path]!.push(performance.now() - s);
        }
        const page = await browser.newPage();
        await page.goto(`${url}/#/sagas`);
        await page.locator('table[aria-label="Sagas"] tbody tr').first().waitFor({ timeout: 60_000 });
        await page.locator('[data-testid=count-COMPLETED]').filter({ hasText: /^\d+$/ }).waitFor({ timeout: 60_000 });
        // Milliseconds since this page's navigation started.
        pageMs.push(await page.evaluate(() => performance.now()));
        const shown = await page.locator('[data-testid=count-COMPLETED]').textContent();
        if (Number(shown) !== sagas + 1) throw new Error(`the page counts ${shown} COMPLETED sagas, not ${sagas + 1}`);
        await page.close();
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
      console.log(
        JSON.stringify({
          figure: 'sagas page load',
          storedSagas: sagas + 1,
          loads,
          firstRowsAndCountsMs: { median: Math.round(median(pageMs)), all: pageMs.map(Math.round) },
          apiMs: Object.fromEntries(Object.entries(api).map(([k, v]) => [k, { median: Math.round(median(v)), all: v.map(Math.round) }])),
        }),
      );
    } finally {
      await browser.close();
      await coordinator.stop();
    }
  } finally {
    await participant.close();
    dir.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
