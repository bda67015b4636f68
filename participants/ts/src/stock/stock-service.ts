import { TerminalError, type ParticipantServer, type SqliteBarrier, type SqliteTx, type StepContext } from '@saga/sdk';
import type { ExampleService, Seed } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { jsonOutput, parseJsonObject, positiveInteger, requiredString } from '../json-payload.js';
import { seedCounts } from '../seed-values.js';
import { freezesSchema, registerTccFreeze, type FrozenResource } from '../tcc-freeze.js';

// Stock semantics of the participant protocol (shared with the Go participant):
// deduct {"sku","quantity"} -> {"sku","quantity","remaining"}; restore adds back
// what the deduct of the same saga+step took, read from stock_movements.

export const INSUFFICIENT_STOCK = 'INSUFFICIENT_STOCK';

/** TCC "reserve": Try freezes {"sku","quantity"} (stock.quantity → stock.frozen, a stock_freezes row), Confirm deducts it, Cancel releases it. */
const STOCK_FREEZE: FrozenResource = {
  table: 'stock',
  keyColumn: 'sku',
  amountColumn: 'quantity',
  freezesTable: 'stock_freezes',
  keyField: 'sku',
  amountField: 'quantity',
  shortage: INSUFFICIENT_STOCK,
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL, frozen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS stock_movements (saga_id TEXT, step TEXT, sku TEXT, delta INTEGER, created_at INTEGER);
CREATE INDEX IF NOT EXISTS stock_movements_saga_step ON stock_movements (saga_id, step);
`;

async function remaining(tx: SqliteTx, sku: string): Promise<number> {
  const row = await tx.get<{ quantity: number }>('SELECT quantity FROM stock WHERE sku = ?', [sku]);
  return row?.quantity ?? 0;
}

/** Takes `quantity` of `sku`; INSUFFICIENT_STOCK when there is not enough (or no such sku). */
export async function deductStock(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const payload = parseJsonObject(ctx.payload);
  const sku = requiredString(payload, 'sku');
  const quantity = positiveInteger(payload, 'quantity');
  const { changes } = await tx.run('UPDATE stock SET quantity = quantity - ? WHERE sku = ? AND quantity >= ?', [
    quantity,
    sku,
    quantity,
  ]);
  if (changes === 0) {
    throw new TerminalError(INSUFFICIENT_STOCK, `not enough stock of "${sku}" for ${quantity}`);
  }
  await tx.run('INSERT INTO stock_movements (saga_id, step, sku, delta, created_at) VALUES (?, ?, ?, ?, ?)', [
    ctx.sagaId,
    ctx.step,
    sku,
    -quantity,
    Date.now(),
  ]);
  return jsonOutput({ sku, quantity, remaining: await remaining(tx, sku) });
}

/** Gives back what this saga+step's deduct took (net of earlier restores). */
export async function restoreStock(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const taken = await tx.all<{ sku: string; net: number }>(
    'SELECT sku, SUM(delta) AS net FROM stock_movements WHERE saga_id = ? AND step = ? GROUP BY sku',
    [ctx.sagaId, ctx.step],
  );
  const restored: { sku: string; quantity: number; remaining: number }[] = [];
  for (const { sku, net } of taken) {
    if (net >= 0) continue;
    await tx.run('UPDATE stock SET quantity = quantity + ? WHERE sku = ?', [-net, sku]);
    await tx.run('INSERT INTO stock_movements (saga_id, step, sku, delta, created_at) VALUES (?, ?, ?, ?, ?)', [
      ctx.sagaId,
      ctx.step,
      sku,
      -net,
      Date.now(),
    ]);
    restored.push({ sku, quantity: -net, remaining: await remaining(tx, sku) });
  }
  return jsonOutput(restored.length === 1 ? restored[0] : { restored });
}

export const stockService: ExampleService = {
  name: 'stock',
  migrate: (tx) => tx.exec(SCHEMA + freezesSchema(STOCK_FREEZE)),
  async seed(tx: SqliteTx, seed: Seed) {
    for (const [sku, quantity] of seedCounts(seed, 'stock')) {
      await tx.run('INSERT OR IGNORE INTO stock (sku, quantity) VALUES (?, ?)', [sku, quantity]);
    }
  },
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    const restore = guardedHandler('compensate', barrier, restoreStock);
    // A step without compensate_action is compensated under its own action, so "deduct" takes both.
    server.register('deduct', { execute: guardedHandler('execute', barrier, deductStock), compensate: restore });
    server.register('restore', { compensate: restore });
    registerTccFreeze(server, barrier, 'reserve', STOCK_FREEZE);
  },
};
