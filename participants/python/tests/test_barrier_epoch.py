"""Compensation epochs at the barrier: a compensation stored as FAILED answers the calls of
its own epoch only; after a RetrySaga (a later epoch) it runs again, once. A compensation
that succeeded never runs again."""
from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest

from payment_participant import barrier as b
from payment_participant import database
from payment_participant.barrier import Barrier
from payment_participant.result import Result

from .test_barrier import CALL, Toy


def at(epoch: int) -> SimpleNamespace:
    return SimpleNamespace(saga_id=CALL.saga_id, step_name=CALL.step_name, compensation_epoch=epoch)


def cannot_undo(conn: sqlite3.Connection, call: object) -> Result:
    return Result.fail("CANNOT_UNDO", "the account is frozen")


def must_not_run(conn: sqlite3.Connection, call: object) -> Result:
    raise AssertionError("the barrier ran a business change it should have answered from storage")


def compensate_row(conn: sqlite3.Connection) -> tuple:
    return conn.execute(
        "SELECT outcome, compensation_epoch FROM saga_barrier WHERE op = 'compensate'"
    ).fetchone()


@pytest.fixture
def toy(conn: sqlite3.Connection) -> Toy:
    return Toy(conn)


def test_failed_compensation_runs_again_at_a_later_epoch_once(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    first = barrier.compensate(conn, at(0), cannot_undo)
    dup = barrier.compensate(conn, at(0), must_not_run)
    assert first.result == Result.fail("CANNOT_UNDO", "the account is frozen")
    assert dup.path == b.DUPLICATE and dup.result == first.result

    again = barrier.compensate(conn, at(1), toy.undo)
    assert again.path == b.NEW_EPOCH and again.result == Result.ok(b"undone")
    assert compensate_row(conn) == ("SUCCEEDED", 1)
    # A duplicate of epoch 1, a late call of epoch 0, a later epoch: the stored success.
    for epoch in (1, 0, 2):
        later = barrier.compensate(conn, at(epoch), must_not_run)
        assert later.path == b.DUPLICATE and later.result == Result.ok(b"undone")
    assert Toy.effects(conn) == 0 and toy.calls == 2  # one apply, one undo


def test_a_call_without_an_epoch_is_epoch_0(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    barrier.compensate(conn, CALL, cannot_undo)
    assert barrier.compensate(conn, CALL, must_not_run).path == b.DUPLICATE
    assert compensate_row(conn) == ("FAILED", 0)


def test_succeeded_compensation_is_not_run_again_at_a_later_epoch(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    barrier.compensate(conn, at(0), toy.undo)
    later = barrier.compensate(conn, at(1), must_not_run)
    assert later.path == b.DUPLICATE and later.result == Result.ok(b"undone")
    assert Toy.effects(conn) == 0


def test_transient_error_at_the_new_epoch_keeps_the_stored_failure(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    barrier.compensate(conn, at(0), cannot_undo)

    def undo_then_crash(c: sqlite3.Connection, call: object) -> Result:
        c.execute("UPDATE toy SET n = n - 1")
        raise ConnectionError("bank unavailable")

    with pytest.raises(ConnectionError):
        barrier.compensate(conn, at(1), undo_then_crash)
    assert compensate_row(conn) == ("FAILED", 0) and Toy.effects(conn) == 1
    assert barrier.compensate(conn, at(1), toy.undo).path == b.NEW_EPOCH
    assert Toy.effects(conn) == 0


def test_refuses_an_epoch_that_is_not_a_whole_number(conn):
    with pytest.raises(ValueError):
        Barrier().compensate(conn, at(-1), must_not_run)


def test_create_schema_migrates_a_table_without_compensation_epoch(tmp_path):
    path = str(tmp_path / "old.db")
    conn = database.open_database(path)
    try:
        conn.executescript(
            """
            CREATE TABLE saga_barrier (
              saga_id TEXT NOT NULL, step TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL,
              output BLOB, error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '',
              created_at INTEGER NOT NULL, PRIMARY KEY (saga_id, step, op));
            CREATE TABLE toy (n INTEGER NOT NULL);
            INSERT INTO toy VALUES (1);
            INSERT INTO saga_barrier VALUES ('saga-1', 'step-a', 'execute', 'SUCCEEDED', NULL, '', '', 1);
            INSERT INTO saga_barrier VALUES ('saga-1', 'step-a', 'compensate', 'FAILED', NULL,
                                             'CANNOT_UNDO', 'frozen', 1);
            """
        )
        Barrier.create_schema(conn)
        Barrier.create_schema(conn)  # idempotent
        assert compensate_row(conn) == ("FAILED", 0)
        toy = Toy(conn)
        assert Barrier().compensate(conn, at(1), toy.undo).path == b.NEW_EPOCH
        assert Toy.effects(conn) == 0
    finally:
        conn.close()
