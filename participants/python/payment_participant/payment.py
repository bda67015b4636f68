"""Payment business logic: `charge` (Execute) and `refund` (Compensate).

Both run inside the barrier's transaction (see barrier.py), so each commits atomically
with its barrier row. Semantics: test/conformance/PARTICIPANT-PROTOCOL.md ("Payment").
The money goes back through the payment gateway (gateway.py), called at most once per
payment: a retried or re-sent refund is answered by the barrier (or by the REFUNDED
status) without reaching the gateway again.
"""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol

from . import database
from .barrier import Handler, StepCall
from .gateway import PaymentGateway
from .result import Result

CHARGE = "charge"
REFUND = "refund"

CHARGED = "CHARGED"
REFUNDED = "REFUNDED"

INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
INVALID_PAYLOAD = "INVALID_PAYLOAD"
ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"
PAYMENT_ALREADY_REFUNDED = "PAYMENT_ALREADY_REFUNDED"

_MAX_CENTS = 2**63 - 1  # SQLite INTEGER range

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS accounts (
      account       TEXT    PRIMARY KEY,
      balance_cents INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS payments (
      payment_id   TEXT PRIMARY KEY,
      saga_id      TEXT,
      step         TEXT,
      account      TEXT,
      amount_cents INTEGER,
      status       TEXT,
      charged_at   INTEGER,
      refunded_at  INTEGER,
      refund_id    TEXT
    )
    """,
)


class InvalidSeed(ValueError):
    pass


@dataclass(frozen=True)
class ChargeRequest:
    account: str
    amount_cents: int


class CallWithPayload(StepCall, Protocol):
    payload: bytes


class RefundCall(StepCall, Protocol):
    idempotency_key: str


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def seed(conn: sqlite3.Connection, data: Mapping[str, Any]) -> int:
    """Seeds `{"accounts": {"acc-1": 10000}}` with INSERT OR IGNORE (a restart keeps the
    balances it already has). Returns the number of accounts inserted."""
    accounts = data.get("accounts", {})
    if not isinstance(accounts, dict):
        raise InvalidSeed('seed "accounts" must be an object of account -> balance_cents')
    rows = []
    for account, cents in accounts.items():
        if not _is_cents(cents) or cents < 0:
            raise InvalidSeed(f"seed balance of account {account!r} must be an integer >= 0")
        rows.append((account, cents))
    with database.immediate_transaction(conn):  # one transaction for the whole seed
        cur = conn.executemany(
            "INSERT OR IGNORE INTO accounts (account, balance_cents) VALUES (?, ?)", rows
        )
    return max(cur.rowcount, 0)


def payment_id(saga_id: str, step: str) -> str:
    return f"pay-{saga_id}-{step}"


def parse_charge(payload: bytes) -> ChargeRequest | Result:
    """Returns the request, or a FAILED INVALID_PAYLOAD result saying what is wrong."""
    try:
        data = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Result.fail(INVALID_PAYLOAD, "payload is not valid UTF-8 JSON")
    if not isinstance(data, dict):
        return Result.fail(INVALID_PAYLOAD, "payload must be a JSON object")
    account = data.get("account")
    if not isinstance(account, str) or not account:
        return Result.fail(INVALID_PAYLOAD, '"account" must be a non-empty string')
    amount = data.get("amount_cents")
    if not _is_cents(amount) or not 0 < amount <= _MAX_CENTS:
        return Result.fail(INVALID_PAYLOAD, '"amount_cents" must be a positive integer')
    return ChargeRequest(account, amount)


def charge(conn: sqlite3.Connection, call: CallWithPayload) -> Result:
    request = parse_charge(call.payload)
    if isinstance(request, Result):
        return request
    pid = payment_id(call.saga_id, call.step_name)

    # The barrier already makes this run once per (saga, step); the payment row is a second
    # line of defence for a re-delivery that outlived the barrier's retention.
    existing = _payment(conn, pid)
    if existing is not None:
        status, amount, _account = existing
        if status == REFUNDED:
            return Result.fail(PAYMENT_ALREADY_REFUNDED, f"payment {pid} was already refunded")
        return Result.ok(_json({"payment_id": pid, "amount_cents": amount}))

    # Conditional update: the balance check and the debit are one statement.
    cur = conn.execute(
        "UPDATE accounts SET balance_cents = balance_cents - ?"
        " WHERE account = ? AND balance_cents >= ?",
        (request.amount_cents, request.account, request.amount_cents),
    )
    if cur.rowcount == 0:
        known = conn.execute(
            "SELECT 1 FROM accounts WHERE account = ?", (request.account,)
        ).fetchone()
        reason = "balance too low" if known else "unknown account"
        return Result.fail(INSUFFICIENT_FUNDS, reason)
    conn.execute(
        "INSERT INTO payments (payment_id, saga_id, step, account, amount_cents, status,"
        " charged_at, refunded_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
        (pid, call.saga_id, call.step_name, request.account, request.amount_cents,
         CHARGED, _now_ms()),
    )
    return Result.ok(_json({"payment_id": pid, "amount_cents": request.amount_cents}))


def refund_through(gateway: PaymentGateway) -> Handler:
    """The `refund` handler, refunding through `gateway`."""

    def refund(conn: sqlite3.Connection, call: RefundCall) -> Result:
        """State-based, so it refunds at most once whatever the delivery pattern. The
        payload is not needed (the payment row says what to refund), so a broken payload
        cannot block it. A never-charged step does not get here: the barrier answers it as a
        null compensation.
        """
        pid = payment_id(call.saga_id, call.step_name)
        existing = _payment(conn, pid)
        if existing is None:
            # Defensive: the charge recorded no payment (e.g. rows deleted by hand).
            return Result.ok(_json({"payment_id": pid, "amount_cents": 0, "status": "NOT_CHARGED"}))
        status, amount, account = existing
        if status == REFUNDED:
            return Result.ok(_json({"payment_id": pid, "amount_cents": amount, "status": REFUNDED}))

        cur = conn.execute(
            "UPDATE accounts SET balance_cents = balance_cents + ? WHERE account = ?",
            (amount, account),
        )
        if cur.rowcount == 0:
            # Cannot give the money back automatically: FAILED sends the saga to a human.
            return Result.fail(ACCOUNT_NOT_FOUND, f"account of payment {pid} no longer exists")
        # Last, so that a business failure above never reaches the gateway; an exception
        # from it rolls everything back and the coordinator retries with the same key.
        refunded = gateway.refund(call.idempotency_key or f"{call.saga_id}/{call.step_name}/compensate",
                                  pid, amount)
        conn.execute(
            "UPDATE payments SET status = ?, refunded_at = ?, refund_id = ?"
            " WHERE payment_id = ? AND status = ?",
            (REFUNDED, _now_ms(), refunded.refund_id, pid, CHARGED),
        )
        return Result.ok(_json({"payment_id": pid, "amount_cents": amount, "status": REFUNDED,
                                "refund_id": refunded.refund_id}))

    return refund


def balance(conn: sqlite3.Connection, account: str) -> Optional[int]:
    row = conn.execute(
        "SELECT balance_cents FROM accounts WHERE account = ?", (account,)
    ).fetchone()
    return None if row is None else row[0]


def _payment(conn: sqlite3.Connection, pid: str) -> Optional[tuple[str, int, str]]:
    return conn.execute(
        "SELECT status, amount_cents, account FROM payments WHERE payment_id = ?", (pid,)
    ).fetchone()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _is_cents(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")
