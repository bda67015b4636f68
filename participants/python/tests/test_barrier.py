"""The barrier rules from PARTICIPANT-PROTOCOL.md, with a toy business table so the helper
is tested independently of payments."""
from __future__ import annotations

import sqlite3
import threading
from types import SimpleNamespace

import pytest

from payment_participant import barrier as b
from payment_participant import database
from payment_participant.barrier import Barrier
from payment_participant.result import Result

from .conftest import barrier_rows

CALL = SimpleNamespace(saga_id="saga-1", step_name="step-a")


class Toy:
    """A business effect we can count: `effects` is what was committed."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS toy (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO toy (n) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM toy)")
        self.calls = 0

    @staticmethod
    def effects(conn: sqlite3.Connection) -> int:
        return conn.execute("SELECT n FROM toy").fetchone()[0]

    def apply(self, conn: sqlite3.Connection, call: object) -> Result:
        self.calls += 1
        conn.execute("UPDATE toy SET n = n + 1")
        return Result.ok(b"applied")

    def undo(self, conn: sqlite3.Connection, call: object) -> Result:
        self.calls += 1
        conn.execute("UPDATE toy SET n = n - 1")
        return Result.ok(b"undone")

    def write_then_fail(self, conn: sqlite3.Connection, call: object) -> Result:
        self.calls += 1
        conn.execute("UPDATE toy SET n = n + 100")
        return Result.fail("NOPE", "business says no")

    def write_then_crash(self, conn: sqlite3.Connection, call: object) -> Result:
        self.calls += 1
        conn.execute("UPDATE toy SET n = n + 100")
        raise ConnectionError("downstream unavailable")


@pytest.fixture
def toy(conn: sqlite3.Connection) -> Toy:
    return Toy(conn)


def test_execute_applies_once_and_duplicate_returns_stored_result(conn, toy):
    barrier = Barrier()
    first = barrier.execute(conn, CALL, toy.apply)
    second = barrier.execute(conn, CALL, toy.apply)

    assert first.path == b.APPLIED and first.result == Result.ok(b"applied")
    assert second.path == b.DUPLICATE and second.result == Result.ok(b"applied")
    assert toy.calls == 1 and Toy.effects(conn) == 1
    assert barrier_rows(conn)["execute"] == ("SUCCEEDED", b"applied", "")


def test_business_failure_is_recorded_without_business_change(conn, toy):
    barrier = Barrier()
    first = barrier.execute(conn, CALL, toy.write_then_fail)
    again = barrier.execute(conn, CALL, toy.apply)

    assert first.result == Result.fail("NOPE", "business says no")
    assert again.path == b.DUPLICATE and again.result == first.result
    assert toy.calls == 1 and Toy.effects(conn) == 0  # the handler's write was undone
    assert barrier_rows(conn)["execute"] == ("FAILED", None, "NOPE")


def test_transient_error_rolls_back_everything_and_a_retry_applies(conn, toy):
    barrier = Barrier()
    with pytest.raises(ConnectionError):
        barrier.execute(conn, CALL, toy.write_then_crash)
    assert Toy.effects(conn) == 0 and barrier_rows(conn) == {}
    assert not conn.in_transaction

    retry = barrier.execute(conn, CALL, toy.apply)
    assert retry.path == b.APPLIED and Toy.effects(conn) == 1


def test_null_compensation_then_hanging_execute_is_refused(conn, toy):
    barrier = Barrier()
    comp = barrier.compensate(conn, CALL, toy.undo)
    late = barrier.execute(conn, CALL, toy.apply)

    assert comp.path == b.NULL_COMPENSATED and comp.result == Result.ok(b"")
    assert late.path == b.HANGING
    assert late.result.error_code == b.BARRIER_REJECTED and not late.result.succeeded
    assert toy.calls == 0 and Toy.effects(conn) == 0
    rows = barrier_rows(conn)
    assert rows["compensate"][0] == "NULL_COMPENSATION"
    assert rows["execute"] == ("REJECTED", None, b.BARRIER_REJECTED)


def test_hanging_execute_records_rejected_row_when_none_exists(conn, toy):
    barrier = Barrier()
    conn.execute(
        "INSERT INTO saga_barrier (saga_id, step, op, outcome, created_at)"
        " VALUES ('saga-1', 'step-a', 'compensate', 'NULL_COMPENSATION', 1)"
    )
    late = barrier.execute(conn, CALL, toy.apply)
    assert late.path == b.HANGING and toy.calls == 0
    assert barrier_rows(conn)["execute"][0] == "REJECTED"


def test_compensate_after_failed_execute_is_null_and_keeps_failed_row(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.write_then_fail)
    comp = barrier.compensate(conn, CALL, toy.undo)

    assert comp.path == b.NULL_COMPENSATED and comp.result.succeeded
    assert toy.calls == 1  # only the failing execute ran
    rows = barrier_rows(conn)
    assert rows["execute"][0] == "FAILED" and rows["compensate"][0] == "NULL_COMPENSATION"


def test_compensate_undoes_once_and_duplicate_returns_stored_result(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    first = barrier.compensate(conn, CALL, toy.undo)
    second = barrier.compensate(conn, CALL, toy.undo)

    assert first.path == b.APPLIED and first.result == Result.ok(b"undone")
    assert second.path == b.DUPLICATE and second.result == Result.ok(b"undone")
    assert toy.calls == 2 and Toy.effects(conn) == 0


def test_duplicate_execute_after_compensation_is_refused(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    barrier.compensate(conn, CALL, toy.undo)
    again = barrier.execute(conn, CALL, toy.apply)
    assert again.path == b.HANGING and Toy.effects(conn) == 0


def test_compensation_business_failure_is_recorded_without_change(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    first = barrier.compensate(conn, CALL, toy.write_then_fail)
    second = barrier.compensate(conn, CALL, toy.undo)

    assert first.result.error_code == "NOPE"
    assert second.path == b.DUPLICATE and second.result == first.result
    assert Toy.effects(conn) == 1  # still applied, nothing of the failed compensation kept


def test_steps_and_sagas_are_independent(conn, toy):
    barrier = Barrier()
    barrier.execute(conn, CALL, toy.apply)
    barrier.execute(conn, SimpleNamespace(saga_id="saga-1", step_name="step-b"), toy.apply)
    barrier.execute(conn, SimpleNamespace(saga_id="saga-2", step_name="step-a"), toy.apply)
    assert Toy.effects(conn) == 3


def test_concurrent_duplicates_apply_once(db_path):
    setup = database.connect(db_path)
    toy = Toy(setup)
    setup.close()
    barrier = Barrier()
    start = threading.Barrier(8)
    paths: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        c = database.connect(db_path)
        try:
            start.wait(timeout=10)
            paths.append(barrier.execute(c, CALL, toy.apply).path)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(paths) == [b.APPLIED] + [b.DUPLICATE] * 7
    check = database.connect(db_path)
    assert Toy.effects(check) == 1
    check.close()


def test_cleanup_deletes_only_rows_past_retention(conn, toy):
    now = [1_000_000_000]
    barrier = Barrier(retention_ms=1000, clock_ms=lambda: now[0])
    barrier.execute(conn, CALL, toy.apply)
    now[0] += 600
    barrier.execute(conn, SimpleNamespace(saga_id="saga-1", step_name="step-b"), toy.apply)
    now[0] += 600  # first row is now 1200 ms old, second 600 ms

    assert barrier.cleanup(conn) == 1
    remaining = conn.execute("SELECT step FROM saga_barrier").fetchall()
    assert remaining == [("step-b",)]


def test_handler_must_return_a_result(conn):
    with pytest.raises(TypeError):
        Barrier().execute(conn, CALL, lambda c, call: "not a result")
    assert barrier_rows(conn) == {} and not conn.in_transaction


def test_refuses_connections_with_implicit_transactions(db_path):
    implicit = sqlite3.connect(db_path)  # default isolation_level: Python opens transactions
    try:
        with pytest.raises(ValueError):
            Barrier().execute(implicit, CALL, lambda c, call: Result.ok())
    finally:
        implicit.close()


def test_requires_saga_and_step(conn):
    with pytest.raises(ValueError):
        Barrier().execute(conn, SimpleNamespace(saga_id="", step_name="x"), lambda c, k: Result.ok())
