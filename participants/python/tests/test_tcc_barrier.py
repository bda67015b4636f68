"""The TCC barrier: null cancel, hanging try, duplicates from the stored result, with a
freeze visible in the participant's own table (available / frozen)."""
from __future__ import annotations

import sqlite3

import pytest

from payment_participant import barrier as b
from payment_participant import tcc_barrier as t
from payment_participant.result import Result
from payment_participant.tcc_barrier import TccBarrier

from .conftest import barrier_rows, step_call

runs = {"try": 0, "confirm": 0, "cancel": 0}


@pytest.fixture(autouse=True)
def funds(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE funds (account TEXT PRIMARY KEY, available INTEGER, frozen INTEGER)")
    conn.execute("INSERT INTO funds VALUES ('acc-1', 1000, 0)")
    for k in runs:
        runs[k] = 0


def freeze(amount: int):
    def handler(conn: sqlite3.Connection, call) -> Result:
        runs["try"] += 1
        cur = conn.execute(
            "UPDATE funds SET available = available - ?, frozen = frozen + ?"
            " WHERE account = 'acc-1' AND available >= ?", (amount, amount, amount))
        if cur.rowcount == 0:
            return Result.fail("INSUFFICIENT_FUNDS", "balance too low")
        return Result.ok(b"frozen")
    return handler


def deduct(amount: int):
    def handler(conn: sqlite3.Connection, call) -> Result:
        runs["confirm"] += 1
        conn.execute("UPDATE funds SET frozen = frozen - ? WHERE account = 'acc-1'", (amount,))
        return Result.ok()
    return handler


def release(amount: int):
    def handler(conn: sqlite3.Connection, call) -> Result:
        runs["cancel"] += 1
        conn.execute("UPDATE funds SET available = available + ?, frozen = frozen - ?"
                     " WHERE account = 'acc-1'", (amount, amount))
        return Result.ok()
    return handler


def funds_row(conn):
    return conn.execute("SELECT available, frozen FROM funds").fetchone()


def test_try_freezes_confirm_deducts_duplicates_answer_stored(conn):
    barrier = TccBarrier()
    first = barrier.try_(conn, step_call(), freeze(300))
    again = barrier.try_(conn, step_call(attempt=2), freeze(300))
    assert first.result.output == b"frozen" and again.path == b.DUPLICATE
    assert funds_row(conn) == (700, 300)
    barrier.confirm(conn, step_call(), deduct(300))
    dup = barrier.confirm(conn, step_call(attempt=2), deduct(300))
    assert dup.path == b.DUPLICATE and dup.result.succeeded
    assert funds_row(conn) == (700, 0)
    assert runs == {"try": 1, "confirm": 1, "cancel": 0}


def test_cancel_releases_once(conn):
    barrier = TccBarrier()
    barrier.try_(conn, step_call(), freeze(300))
    barrier.cancel(conn, step_call(), release(300))
    assert barrier.cancel(conn, step_call(attempt=2), release(300)).path == b.DUPLICATE
    assert funds_row(conn) == (1000, 0)
    assert runs["cancel"] == 1


def test_null_cancel_then_hanging_try_refused(conn):
    barrier = TccBarrier()
    cancel = barrier.cancel(conn, step_call(), release(300))
    late = barrier.try_(conn, step_call(), freeze(300))
    assert cancel.path == b.NULL_COMPENSATED and cancel.result.succeeded
    assert late.path == b.HANGING and late.result.error_code == b.BARRIER_REJECTED
    assert funds_row(conn) == (1000, 0)
    assert runs == {"try": 0, "confirm": 0, "cancel": 0}
    assert {op: row[0] for op, row in barrier_rows(conn).items()} == {
        "try": b.REJECTED, "cancel": b.NULL_COMPENSATION}


def test_failed_try_freezes_nothing_and_its_cancel_is_null(conn):
    barrier = TccBarrier()
    failed = barrier.try_(conn, step_call(), freeze(5000))
    assert failed.result.error_code == "INSUFFICIENT_FUNDS"
    assert barrier.cancel(conn, step_call(), release(5000)).path == b.NULL_COMPENSATED
    assert funds_row(conn) == (1000, 0)


def test_transient_error_in_try_commits_nothing(conn):
    barrier = TccBarrier()

    def flaky(c, call):
        freeze(100)(c, call)
        raise RuntimeError("connection reset")

    with pytest.raises(RuntimeError):
        barrier.try_(conn, step_call(), flaky)
    assert funds_row(conn) == (1000, 0) and barrier_rows(conn) == {}
    assert barrier.try_(conn, step_call(), freeze(100)).path == b.APPLIED
    assert funds_row(conn) == (900, 100)


def test_out_of_order_confirm_and_cancel_are_refused(conn):
    barrier = TccBarrier()
    assert barrier.confirm(conn, step_call(), deduct(1)).result.error_code == t.TCC_OUT_OF_ORDER
    other = step_call(saga_id="saga-2")
    barrier.try_(conn, other, freeze(1))
    barrier.confirm(conn, other, deduct(1))
    assert barrier.cancel(conn, other, release(1)).result.error_code == t.TCC_OUT_OF_ORDER
    assert funds_row(conn) == (999, 0)
    assert runs == {"try": 1, "confirm": 1, "cancel": 0}
