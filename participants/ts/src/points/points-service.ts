import { TerminalError, type ParticipantServer, type SqliteBarrier, type SqliteTx, type StepContext } from '@saga/sdk';
import type { ExampleService, Seed } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { jsonOutput, parseJsonObject, positiveInteger, requiredString } from '../json-payload.js';
import { seedCounts } from '../seed-values.js';
import { freezesSchema, registerTccFreeze, type FrozenResource } from '../tcc-freeze.js';

// Loyalty points: deduct {"userId","points"} -> {"userId","points","remaining"};
// restore gives back what the deduct of the same saga+step took.

export const INSUFFICIENT_POINTS = 'INSUFFICIENT_POINTS';

/** TCC "freeze": Try freezes {"userId","points"} (accounts.points → accounts.frozen, a points_freezes row), Confirm deducts, Cancel releases. */
const POINTS_FREEZE: FrozenResource = {
  table: 'accounts',
  keyColumn: 'user_id',
  amountColumn: 'points',
  freezesTable: 'points_freezes',
  keyField: 'userId',
  amountField: 'points',
  shortage: INSUFFICIENT_POINTS,
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (user_id TEXT PRIMARY KEY, points INTEGER NOT NULL, frozen INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS points_movements (saga_id TEXT, step TEXT, user_id TEXT, delta INTEGER, created_at INTEGER);
CREATE INDEX IF NOT EXISTS points_movements_saga_step ON points_movements (saga_id, step);
`;

async function balance(tx: SqliteTx, userId: string): Promise<number> {
  const row = await tx.get<{ points: number }>('SELECT points FROM accounts WHERE user_id = ?', [userId]);
  return row?.points ?? 0;
}

/** Takes `points` from the user's account; INSUFFICIENT_POINTS when it has fewer (or no account). */
export async function deductPoints(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const payload = parseJsonObject(ctx.payload);
  const userId = requiredString(payload, 'userId');
  const points = positiveInteger(payload, 'points');
  const { changes } = await tx.run('UPDATE accounts SET points = points - ? WHERE user_id = ? AND points >= ?', [
    points,
    userId,
    points,
  ]);
  if (changes === 0) {
    throw new TerminalError(INSUFFICIENT_POINTS, `user "${userId}" has fewer than ${points} points`);
  }
  await tx.run('INSERT INTO points_movements (saga_id, step, user_id, delta, created_at) VALUES (?, ?, ?, ?, ?)', [
    ctx.sagaId,
    ctx.step,
    userId,
    -points,
    Date.now(),
  ]);
  return jsonOutput({ userId, points, remaining: await balance(tx, userId) });
}

/** Gives back what this saga+step's deduct took (net of earlier restores). */
export async function restorePoints(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const taken = await tx.all<{ user_id: string; net: number }>(
    'SELECT user_id, SUM(delta) AS net FROM points_movements WHERE saga_id = ? AND step = ? GROUP BY user_id',
    [ctx.sagaId, ctx.step],
  );
  const restored: { userId: string; points: number; remaining: number }[] = [];
  for (const { user_id: userId, net } of taken) {
    if (net >= 0) continue;
    await tx.run('UPDATE accounts SET points = points + ? WHERE user_id = ?', [-net, userId]);
    await tx.run('INSERT INTO points_movements (saga_id, step, user_id, delta, created_at) VALUES (?, ?, ?, ?, ?)', [
      ctx.sagaId,
      ctx.step,
      userId,
      -net,
      Date.now(),
    ]);
    restored.push({ userId, points: -net, remaining: await balance(tx, userId) });
  }
  return jsonOutput(restored.length === 1 ? restored[0] : { restored });
}

export const pointsService: ExampleService = {
  name: 'points',
  migrate: (tx) => tx.exec(SCHEMA + freezesSchema(POINTS_FREEZE)),
  async seed(tx: SqliteTx, seed: Seed) {
    for (const [userId, points] of seedCounts(seed, 'points')) {
      await tx.run('INSERT OR IGNORE INTO accounts (user_id, points) VALUES (?, ?)', [userId, points]);
    }
  },
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    const restore = guardedHandler('compensate', barrier, restorePoints);
    server.register('deduct', { execute: guardedHandler('execute', barrier, deductPoints), compensate: restore });
    server.register('restore', { compensate: restore });
    registerTccFreeze(server, barrier, 'freeze', POINTS_FREEZE);
  },
};
