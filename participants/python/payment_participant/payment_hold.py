"""TCC on payments (saga.v1.TccParticipant, action `hold`): Try holds amount_cents of the
account (taken from its balance, a HELD row of payment_holds), Confirm captures the hold
(CAPTURED), Cancel releases it (the amount goes back, RELEASED).

Each runs inside the TCC barrier's transaction (tcc_barrier.py), which answers duplicates,
null cancels and hanging tries; the hold's status makes Confirm and Cancel state-based too.
"""
from __future__ import annotations

import sqlite3
from typing import Optional

from .payment import INSUFFICIENT_FUNDS, CallWithPayload, _json, _now_ms, parse_charge
from .barrier import StepCall
from .result import Result

HOLD = "hold"

HELD = "HELD"
CAPTURED = "CAPTURED"
RELEASED = "RELEASED"

SCHEMA = """
CREATE TABLE IF NOT EXISTS payment_holds (
  saga_id      TEXT    NOT NULL,
  step         TEXT    NOT NULL,
  account      TEXT    NOT NULL,
  amount_cents INTEGER NOT NULL,
  status       TEXT    NOT NULL CHECK (status IN ('HELD', 'CAPTURED', 'RELEASED')),
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (saga_id, step)
)
"""


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute(SCHEMA)


def hold(conn: sqlite3.Connection, call: CallWithPayload) -> Result:
    """Try: move amount_cents from the balance into a HELD row; too little → FAILED."""
    request = parse_charge(call.payload)
    if isinstance(request, Result):
        return request
    cur = conn.execute(
        "UPDATE accounts SET balance_cents = balance_cents - ?"
        " WHERE account = ? AND balance_cents >= ?",
        (request.amount_cents, request.account, request.amount_cents),
    )
    if cur.rowcount == 0:
        return Result.fail(INSUFFICIENT_FUNDS, f"too little on {request.account} to hold"
                                               f" {request.amount_cents} cents")
    now = _now_ms()
    conn.execute(
        "INSERT INTO payment_holds (saga_id, step, account, amount_cents, status, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (call.saga_id, call.step_name, request.account, request.amount_cents, HELD, now, now),
    )
    return Result.ok(_json({"account": request.account, "amount_cents": request.amount_cents,
                            "status": HELD}))


def capture(conn: sqlite3.Connection, call: StepCall) -> Result:
    """Confirm: the held amount is taken for good."""
    return _settle(conn, call, CAPTURED)


def release(conn: sqlite3.Connection, call: StepCall) -> Result:
    """Cancel: the held amount goes back to the balance."""
    return _settle(conn, call, RELEASED)


def _settle(conn: sqlite3.Connection, call: StepCall, to: str) -> Result:
    row: Optional[tuple[str, int, str]] = conn.execute(
        "SELECT account, amount_cents, status FROM payment_holds WHERE saga_id = ? AND step = ?",
        (call.saga_id, call.step_name),
    ).fetchone()
    if row is None:
        return Result.ok(_json({"status": "NONE"}))
    account, amount, status = row
    if status != HELD:
        return Result.ok(_json({"account": account, "amount_cents": amount, "status": status}))
    if to == RELEASED:
        conn.execute("UPDATE accounts SET balance_cents = balance_cents + ? WHERE account = ?",
                     (amount, account))
    conn.execute(
        "UPDATE payment_holds SET status = ?, updated_at = ? WHERE saga_id = ? AND step = ?",
        (to, _now_ms(), call.saga_id, call.step_name),
    )
    return Result.ok(_json({"account": account, "amount_cents": amount, "status": to}))
