"""TCC on payments (action `hold`) through the TCC barrier, as the server runs them: Try holds
the amount, Confirm captures it, Cancel releases it; duplicates, null cancels and a hanging
Try change nothing more."""
from __future__ import annotations

import sqlite3

from payment_participant import payment, payment_hold
from payment_participant import tcc_barrier as t
from payment_participant.tcc_barrier import TccBarrier

from .conftest import barrier_rows, step_call

HOLD_700 = b'{"account":"acc-1","amount_cents":700}'


def hold_call(attempt: int = 1, payload: bytes = HOLD_700):
    return step_call(step_name="hold", action="hold", payload=payload, attempt=attempt)


def hold_row(conn: sqlite3.Connection):
    return conn.execute(
        "SELECT account, amount_cents, status FROM payment_holds WHERE saga_id = 'saga-1'"
    ).fetchall()


def setup(conn: sqlite3.Connection) -> TccBarrier:
    payment_hold.create_schema(conn)
    return TccBarrier()


def test_try_holds_and_confirm_captures_once(conn):
    tcc = setup(conn)
    assert tcc.try_(conn, hold_call(), payment_hold.hold).result.succeeded
    assert payment.balance(conn, "acc-1") == 9300
    assert hold_row(conn) == [("acc-1", 700, "HELD")]
    tcc.try_(conn, hold_call(attempt=2), payment_hold.hold)
    assert payment.balance(conn, "acc-1") == 9300
    first = tcc.confirm(conn, hold_call(), payment_hold.capture)
    again = tcc.confirm(conn, hold_call(attempt=2), payment_hold.capture)
    assert first.result.succeeded and again.result == first.result
    assert again.path == "duplicate"
    assert payment.balance(conn, "acc-1") == 9300
    assert hold_row(conn) == [("acc-1", 700, "CAPTURED")]


def test_cancel_releases_once(conn):
    tcc = setup(conn)
    tcc.try_(conn, hold_call(), payment_hold.hold)
    tcc.cancel(conn, hold_call(), payment_hold.release)
    tcc.cancel(conn, hold_call(attempt=2), payment_hold.release)
    assert payment.balance(conn, "acc-1") == 10000
    assert hold_row(conn) == [("acc-1", 700, "RELEASED")]


def test_too_little_fails_without_a_hold(conn):
    tcc = setup(conn)
    answer = tcc.try_(conn, hold_call(payload=b'{"account":"acc-poor","amount_cents":700}'),
                      payment_hold.hold)
    assert not answer.result.succeeded
    assert answer.result.error_code == payment.INSUFFICIENT_FUNDS
    assert payment.balance(conn, "acc-poor") == 100
    assert hold_row(conn) == []


def test_null_cancel_then_hanging_try_refused(conn):
    tcc = setup(conn)
    assert tcc.cancel(conn, hold_call(), payment_hold.release).result.succeeded
    late = tcc.try_(conn, hold_call(), payment_hold.hold)
    assert late.result.error_code == t.BARRIER_REJECTED
    assert payment.balance(conn, "acc-1") == 10000
    assert hold_row(conn) == []
    assert barrier_rows(conn)["cancel"][0] == "NULL_COMPENSATION"
