import { TerminalError, type ParticipantServer, type SqliteBarrier, type SqliteTx, type StepContext } from '@saga/sdk';
import { guardedHandler } from './guarded-handler.js';
import { jsonOutput, parseJsonObject, positiveInteger, requiredString } from './json-payload.js';

// TCC on a countable resource (stock of a sku, points of a user): Try freezes
// the amount (available → frozen, and a row in the service's freezes table),
// Confirm deducts what is frozen, Cancel releases it. Each runs inside the
// TCC barrier's transaction, which answers duplicates, null cancels and
// hanging tries; the freeze row's status makes each step state-based too.

export interface FrozenResource {
  /** The balance table, with an `frozen` column next to the amount. */
  readonly table: string;
  readonly keyColumn: string;
  readonly amountColumn: string;
  /** freezes(saga_id, step, key, amount, status FROZEN|DEDUCTED|RELEASED, created_at, updated_at). */
  readonly freezesTable: string;
  /** Payload field names of the key and the amount. */
  readonly keyField: string;
  readonly amountField: string;
  /** Business error code when too little is available. */
  readonly shortage: string;
}

/** The freezes table of a resource (key and amount columns named as the resource's). */
export function freezesSchema(r: FrozenResource): string {
  return `
CREATE TABLE IF NOT EXISTS ${r.freezesTable} (
  saga_id    TEXT    NOT NULL,
  step       TEXT    NOT NULL,
  ${r.keyColumn} TEXT NOT NULL,
  ${r.amountColumn} INTEGER NOT NULL,
  status     TEXT    NOT NULL CHECK (status IN ('FROZEN', 'DEDUCTED', 'RELEASED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (saga_id, step)
);`;
}

interface Freeze {
  key: string;
  amount: number;
  status: string;
}

export function tccFreezeActions(r: FrozenResource) {
  const find = (tx: SqliteTx, ctx: StepContext): Promise<Freeze | undefined> =>
    tx.get<Freeze>(`SELECT ${r.keyColumn} AS key, ${r.amountColumn} AS amount, status FROM ${r.freezesTable} WHERE saga_id = ? AND step = ?`, [
      ctx.sagaId,
      ctx.step,
    ]);
  const settle = async (tx: SqliteTx, ctx: StepContext, to: 'DEDUCTED' | 'RELEASED'): Promise<Buffer> => {
    const freeze = await find(tx, ctx);
    if (freeze === undefined || freeze.status !== 'FROZEN') return jsonOutput({ status: freeze?.status ?? 'NONE' });
    const giveBack = to === 'RELEASED' ? freeze.amount : 0;
    await tx.run(`UPDATE ${r.table} SET ${r.amountColumn} = ${r.amountColumn} + ?, frozen = frozen - ? WHERE ${r.keyColumn} = ?`, [
      giveBack,
      freeze.amount,
      freeze.key,
    ]);
    await tx.run(`UPDATE ${r.freezesTable} SET status = ?, updated_at = ? WHERE saga_id = ? AND step = ?`, [to, Date.now(), ctx.sagaId, ctx.step]);
    return jsonOutput({ [r.keyField]: freeze.key, [r.amountField]: freeze.amount, status: to });
  };
  return {
    /** Try: move the amount from available to frozen; the shortage code when too little is available. */
    freeze: async (tx: SqliteTx, ctx: StepContext): Promise<Buffer> => {
      const payload = parseJsonObject(ctx.payload);
      const key = requiredString(payload, r.keyField);
      const amount = positiveInteger(payload, r.amountField);
      const { changes } = await tx.run(
        `UPDATE ${r.table} SET ${r.amountColumn} = ${r.amountColumn} - ?, frozen = frozen + ? WHERE ${r.keyColumn} = ? AND ${r.amountColumn} >= ?`,
        [amount, amount, key, amount],
      );
      if (changes === 0) throw new TerminalError(r.shortage, `too little available for "${key}" to freeze ${amount}`);
      const now = Date.now();
      await tx.run(
        `INSERT INTO ${r.freezesTable} (saga_id, step, ${r.keyColumn}, ${r.amountColumn}, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'FROZEN', ?, ?)`,
        [ctx.sagaId, ctx.step, key, amount, now, now],
      );
      return jsonOutput({ [r.keyField]: key, [r.amountField]: amount, status: 'FROZEN' });
    },
    /** Confirm: deduct what Try froze. */
    deduct: (tx: SqliteTx, ctx: StepContext) => settle(tx, ctx, 'DEDUCTED'),
    /** Cancel: give back what Try froze. */
    release: (tx: SqliteTx, ctx: StepContext) => settle(tx, ctx, 'RELEASED'),
  };
}

/** Registers `action` with try (freeze), confirm (deduct) and cancel (release) handlers behind the TCC barrier. */
export function registerTccFreeze(server: ParticipantServer, barrier: SqliteBarrier, action: string, r: FrozenResource): void {
  const actions = tccFreezeActions(r);
  server.register(action, {
    try: guardedHandler('try', barrier, actions.freeze),
    confirm: guardedHandler('confirm', barrier, actions.deduct),
    cancel: guardedHandler('cancel', barrier, actions.release),
  });
}
