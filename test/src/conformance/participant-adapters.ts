// What the conformance suite needs to know about each participant
// implementation: how to start it, what to ask it to do, and how to read its
// business effects from its own database.

import { startGoParticipant, startPythonParticipant, startTsParticipant, type ParticipantLaunch } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { queryDb, scalar } from '../support/sqlite-inspect.js';

/** A participant's TCC side (saga.v1.TccParticipant): a resource it freezes in Try. */
export interface TccAdapter {
  readonly action: string;
  /** A payload its Try accepts, and one it refuses with a business failure. */
  readonly payload: unknown;
  readonly failingPayload: unknown;
  /** The amount one confirmed branch takes from the balance. */
  readonly unit: number;
  /** How the participant's own table names a freeze once confirmed, and once released. */
  readonly confirmed: string;
  readonly released: string;
  /** The freezes the transaction made, status by branch name (absent = nothing frozen). */
  freezes(db: string, sagaId: string): Promise<Record<string, string>>;
}

/** The barrier's record of an operation of a branch (the same saga_barrier table in every language). */
export async function barrierRecord(db: string, sagaId: string, step: string, op: string): Promise<{ outcome: string; epoch: number } | undefined> {
  const rows = await queryDb<{ outcome: string; epoch: number }>(
    db,
    'SELECT outcome, compensation_epoch AS epoch FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?',
    [sagaId, step, op],
  );
  return rows[0];
}

/** The outcome column of {@link barrierRecord}. */
export async function barrierOutcome(db: string, sagaId: string, step: string, op: string): Promise<string | undefined> {
  return (await barrierRecord(db, sagaId, step, op))?.outcome;
}

const freezesOf = (table: string) => async (db: string, sagaId: string): Promise<Record<string, string>> =>
  Object.fromEntries((await queryDb<{ step: string; status: string }>(db, `SELECT step, status FROM ${table} WHERE saga_id = ?`, [sagaId])).map((r) => [r.step, r.status]));

export interface ParticipantAdapter {
  /** Language and service, e.g. "go stock". */
  readonly label: string;
  /** Registered name at the coordinator. */
  readonly participant: string;
  readonly action: string;
  readonly compensateAction: string;
  /** A payload the participant accepts. */
  readonly payload: unknown;
  /** A payload it refuses with a business failure. */
  readonly failingPayload: unknown;
  /** The business amount one successful execute moves. */
  readonly unit: number;
  start(launch: Omit<ParticipantLaunch, 'seed'>): Promise<ManagedProcess>;
  /** Forward effects applied for the saga. */
  executeEffects(db: string, sagaId: string): Promise<number>;
  /** Compensating effects applied for the saga. */
  compensateEffects(db: string, sagaId: string): Promise<number>;
  /** The business balance (stock on hand, account balance). */
  balance(db: string): Promise<number>;
  /** Whether a line of the participant's log is its record of having answered `op` attempt `attempt` of the saga. */
  answered(line: string, sagaId: string, op: 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel', attempt: number): boolean;
  readonly tcc: TccAdapter;
}

/** A JSON log line (pino, slog), or undefined. */
function json(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const stockQueries = {
  executeEffects: (db: string, sagaId: string) => scalar(db, 'SELECT COUNT(*) FROM stock_movements WHERE saga_id = ? AND delta < 0', [sagaId]),
  compensateEffects: (db: string, sagaId: string) => scalar(db, 'SELECT COUNT(*) FROM stock_movements WHERE saga_id = ? AND delta > 0', [sagaId]),
  balance: (db: string) => scalar(db, "SELECT quantity FROM stock WHERE sku = 'sku-1'"),
};

const stockShape = {
  action: 'deduct',
  compensateAction: 'restore',
  payload: { sku: 'sku-1', quantity: 2 },
  failingPayload: { sku: 'sku-1', quantity: 1_000_000 },
  unit: 2,
  ...stockQueries,
  tcc: {
    action: 'reserve',
    payload: { sku: 'sku-1', quantity: 3 },
    failingPayload: { sku: 'sku-1', quantity: 1_000_000 },
    unit: 3,
    confirmed: 'DEDUCTED',
    released: 'RELEASED',
    freezes: freezesOf('stock_freezes'),
  },
};

export const ADAPTERS: readonly ParticipantAdapter[] = [
  {
    label: 'typescript stock',
    participant: 'ts-stock',
    ...stockShape,
    // Debug: the SDK's participant server records each answered call at debug level.
    start: (l) => startTsParticipant('stock', { ...l, seed: { stock: { 'sku-1': 1000 } }, env: { LOG_LEVEL: 'debug' } }),
    answered: (line, sagaId, op, attempt) => {
      const j = json(line);
      return j?.msg === 'step call answered' && j.sagaId === sagaId && j.op === op && j.attempt === attempt;
    },
  },
  {
    label: 'go stock',
    participant: 'go-stock',
    ...stockShape,
    start: (l) => startGoParticipant({ ...l, seed: { stock: { 'sku-1': 1000 } } }),
    answered: (line, sagaId, op, attempt) => {
      const j = json(line);
      return j?.msg === 'call.end' && j.saga_id === sagaId && j.op === op && j.attempt === attempt && j.outcome !== undefined;
    },
  },
  {
    label: 'python payment',
    participant: 'py-payment',
    action: 'charge',
    compensateAction: 'refund',
    payload: { account: 'acc-1', amount_cents: 500 },
    failingPayload: { account: 'acc-1', amount_cents: 1_000_000_000 },
    unit: 500,
    start: (l) => startPythonParticipant({ ...l, seed: { accounts: { 'acc-1': 1_000_000 } } }),
    executeEffects: (db, sagaId) => scalar(db, 'SELECT COUNT(*) FROM payments WHERE saga_id = ?', [sagaId]),
    compensateEffects: (db, sagaId) => scalar(db, "SELECT COUNT(*) FROM payments WHERE saga_id = ? AND status = 'REFUNDED'", [sagaId]),
    balance: (db) => scalar(db, "SELECT balance_cents FROM accounts WHERE account = 'acc-1'"),
    tcc: {
      action: 'hold',
      payload: { account: 'acc-1', amount_cents: 700 },
      failingPayload: { account: 'acc-1', amount_cents: 1_000_000_000 },
      unit: 700,
      confirmed: 'CAPTURED',
      released: 'RELEASED',
      freezes: freezesOf('payment_holds'),
    },
    // servicer.py: "<op> saga=<id> step=<step> action=<action> attempt=<n> -> SUCCEEDED|FAILED ..."
    answered: (line, sagaId, op, attempt) =>
      line.includes(` ${op} saga=${sagaId} `) && line.includes(` attempt=${attempt} -> `) && / -> (SUCCEEDED|FAILED)/.test(line),
  },
];
