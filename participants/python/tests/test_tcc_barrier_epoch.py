"""Compensation epochs at the TCC barrier: a Confirm or Cancel stored as FAILED answers the
calls of its own (or an older) epoch only; after a RetrySaga (a later epoch) it runs again,
once, and its result replaces the row. One that took effect never runs again."""
from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest

from payment_participant import barrier as b
from payment_participant import database
from payment_participant.result import Result
from payment_participant.stubs import pb
from payment_participant.tcc_barrier import TccBarrier

from .test_tcc_barrier import deduct, freeze, funds, funds_row, release, runs  # noqa: F401 (funds: autouse fixture)


def at(epoch: int, saga_id: str = "saga-1") -> "pb.StepCall":
    return pb.StepCall(saga_id=saga_id, step_name="pay", action="hold", attempt=1,
                       compensation_epoch=epoch)


def ledger_closed(conn: sqlite3.Connection, call: object) -> Result:
    return Result.fail("LEDGER_CLOSED", "the ledger is closed")


def must_not_run(conn: sqlite3.Connection, call: object) -> Result:
    raise AssertionError("the barrier ran a business change it should have answered from storage")


def row(conn: sqlite3.Connection, op: str, saga_id: str = "saga-1") -> tuple:
    return conn.execute(
        "SELECT outcome, compensation_epoch FROM saga_barrier WHERE saga_id = ? AND op = ?",
        (saga_id, op),
    ).fetchone()


def test_failed_confirm_runs_again_at_a_later_epoch_once(conn):
    barrier = TccBarrier()
    barrier.try_(conn, at(0), freeze(300))
    first = barrier.confirm(conn, at(0), ledger_closed)
    dup = barrier.confirm(conn, at(0), must_not_run)
    assert first.result.error_code == "LEDGER_CLOSED"
    assert dup.path == b.DUPLICATE and dup.result == first.result
    assert row(conn, "confirm") == (b.FAILED, 0)

    again = barrier.confirm(conn, at(1), deduct(300))
    assert again.path == b.NEW_EPOCH and again.result.succeeded
    assert row(conn, "confirm") == (b.SUCCEEDED, 1)
    # A duplicate of epoch 1, a late call of epoch 0, a later epoch: the stored success.
    for epoch in (1, 0, 2):
        later = barrier.confirm(conn, at(epoch), must_not_run)
        assert later.path == b.DUPLICATE and later.result.succeeded
    assert funds_row(conn) == (700, 0) and runs["confirm"] == 1


def test_failed_cancel_runs_again_at_a_later_epoch_once(conn):
    barrier = TccBarrier()
    barrier.try_(conn, at(0), freeze(300))
    barrier.cancel(conn, at(0), ledger_closed)
    assert barrier.cancel(conn, at(0), must_not_run).path == b.DUPLICATE

    again = barrier.cancel(conn, at(1), release(300))
    assert again.path == b.NEW_EPOCH and again.result.succeeded
    assert row(conn, "cancel") == (b.SUCCEEDED, 1)
    assert barrier.cancel(conn, at(2), must_not_run).path == b.DUPLICATE
    assert funds_row(conn) == (1000, 0) and runs["cancel"] == 1


def test_a_failure_stored_at_a_later_epoch_answers_an_older_one(conn):
    barrier = TccBarrier()
    barrier.try_(conn, at(0), freeze(300))
    barrier.confirm(conn, at(2), ledger_closed)
    older = barrier.confirm(conn, at(1), must_not_run)
    assert older.path == b.DUPLICATE and older.result.error_code == "LEDGER_CLOSED"
    assert row(conn, "confirm") == (b.FAILED, 2)


def test_succeeded_confirm_and_null_cancel_never_run_again(conn):
    barrier = TccBarrier()
    barrier.try_(conn, at(0), freeze(300))
    barrier.confirm(conn, at(0), deduct(300))
    assert barrier.confirm(conn, at(1), must_not_run).path == b.DUPLICATE
    barrier.cancel(conn, at(0, "saga-2"), must_not_run)
    later = barrier.cancel(conn, at(1, "saga-2"), must_not_run)
    assert later.path == b.DUPLICATE and later.result.succeeded
    assert funds_row(conn) == (700, 0) and runs["confirm"] == 1


def test_transient_error_at_the_new_epoch_keeps_the_stored_failure(conn):
    barrier = TccBarrier()
    barrier.try_(conn, at(0), freeze(300))
    barrier.confirm(conn, at(0), ledger_closed)

    def deduct_then_crash(c: sqlite3.Connection, call: object) -> Result:
        deduct(300)(c, call)
        raise ConnectionError("ledger unavailable")

    with pytest.raises(ConnectionError):
        barrier.confirm(conn, at(1), deduct_then_crash)
    assert row(conn, "confirm") == (b.FAILED, 0) and funds_row(conn) == (700, 300)
    assert barrier.confirm(conn, at(1), deduct(300)).path == b.NEW_EPOCH
    assert funds_row(conn) == (700, 0)


def test_refuses_an_epoch_that_is_not_a_whole_number(conn):
    bad = SimpleNamespace(saga_id="saga-1", step_name="pay", compensation_epoch=-1)
    with pytest.raises(ValueError):
        TccBarrier().confirm(conn, bad, must_not_run)
    with pytest.raises(ValueError):
        TccBarrier().cancel(conn, bad, must_not_run)


def test_a_tcc_table_without_compensation_epoch_is_migrated(tmp_path):
    path = str(tmp_path / "old.db")
    conn = database.open_database(path)
    try:
        conn.executescript(
            """
            CREATE TABLE saga_barrier (
              saga_id TEXT NOT NULL, step TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL,
              output BLOB, error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '',
              created_at INTEGER NOT NULL, PRIMARY KEY (saga_id, step, op));
            CREATE TABLE funds (account TEXT PRIMARY KEY, available INTEGER, frozen INTEGER);
            INSERT INTO funds VALUES ('acc-1', 700, 300);
            INSERT INTO saga_barrier VALUES ('saga-1', 'pay', 'try', 'SUCCEEDED', NULL, '', '', 1);
            INSERT INTO saga_barrier VALUES ('saga-1', 'pay', 'confirm', 'FAILED', NULL,
                                             'LEDGER_CLOSED', 'closed', 1);
            """
        )
        TccBarrier.create_schema(conn)
        assert row(conn, "confirm") == (b.FAILED, 0)
        assert TccBarrier().confirm(conn, at(0), must_not_run).path == b.DUPLICATE
        assert TccBarrier().confirm(conn, at(1), deduct(300)).path == b.NEW_EPOCH
        assert funds_row(conn) == (700, 0)
    finally:
        conn.close()
