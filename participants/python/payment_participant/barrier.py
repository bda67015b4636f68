"""SQLite saga barrier (DTM-style): exactly-once effects under at-least-once delivery.

The coordinator may deliver the same operation more than once, Compensate for an Execute
that never ran (null compensation), and a late Execute after its Compensate (hanging).
The barrier row and the business change are written in ONE local transaction, so the
row exists if and only if the change (or the recorded business failure) was committed.

Reusable by any Python participant: it knows nothing about protobuf or payments. A call
only needs `saga_id` and `step_name` attributes (e.g. a saga.v1 StepCall), and for
Compensate (and TCC Confirm/Cancel) optionally `compensation_epoch` (absent = 0): a compensation stored as FAILED
answers its own epoch only, and runs again at a later one (after a RetrySaga). A handler is
`handler(conn, call) -> Result`; it runs inside the barrier's open transaction and must
not commit or roll back itself. Raise to signal a transient error (everything is rolled
back, no row is written, the exception propagates); return `Result.fail(...)` for a
business failure (the handler's writes are undone, the FAILED row is committed).

Schema and rules: test/conformance/PARTICIPANT-PROTOCOL.md ("Barrier table").
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, TypeVar

from . import database
from .result import Result

SCHEMA = """
CREATE TABLE IF NOT EXISTS saga_barrier (
  saga_id       TEXT    NOT NULL,
  step          TEXT    NOT NULL,
  op            TEXT    NOT NULL,
  outcome       TEXT    NOT NULL,
  output        BLOB,
  error_code    TEXT    NOT NULL DEFAULT '',
  error_message TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  compensation_epoch INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (saga_id, step, op)
)
"""
# Retention cleanup scans by age; without this index it would read the whole table.
INDEX = "CREATE INDEX IF NOT EXISTS saga_barrier_created_at ON saga_barrier (created_at)"
# Tables created before compensation epochs existed get the column (their rows are epoch 0).
ADD_COMPENSATION_EPOCH = (
    "ALTER TABLE saga_barrier ADD COLUMN compensation_epoch INTEGER NOT NULL DEFAULT 0"
)

# op column
EXECUTE = "execute"
COMPENSATE = "compensate"

# outcome column
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
NULL_COMPENSATION = "NULL_COMPENSATION"
REJECTED = "REJECTED"

BARRIER_REJECTED = "BARRIER_REJECTED"
HANGING_MESSAGE = "execute arrived after its compensation (hanging); refused by the barrier"

DEFAULT_RETENTION_MS = 7 * 24 * 60 * 60 * 1000

# How the barrier answered (for logs and tests; the coordinator only sees the Result).
APPLIED = "applied"
DUPLICATE = "duplicate"
NEW_EPOCH = "new_epoch"  # a compensation/confirm/cancel FAILED in an earlier epoch ran again
HANGING = "hanging"
NULL_COMPENSATED = "null_compensation"


class StepCall(Protocol):
    saga_id: str
    step_name: str


C = TypeVar("C", bound=StepCall)
Handler = Callable[[sqlite3.Connection, C], Result]


@dataclass(frozen=True)
class BarrierAnswer:
    result: Result
    path: str  # APPLIED | DUPLICATE | HANGING | NULL_COMPENSATED | NEW_EPOCH


@dataclass(frozen=True)
class _Row:
    outcome: str
    output: Optional[bytes]
    error_code: str
    error_message: str
    compensation_epoch: int

    def to_result(self) -> Result:
        if self.outcome in (SUCCEEDED, NULL_COMPENSATION):
            return Result.ok(bytes(self.output or b""))
        return Result.fail(self.error_code or BARRIER_REJECTED, self.error_message)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Barrier:
    def __init__(
        self,
        retention_ms: int = DEFAULT_RETENTION_MS,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        if retention_ms <= 0:
            raise ValueError("retention_ms must be positive")
        self.retention_ms = retention_ms
        self._clock_ms = clock_ms

    @staticmethod
    def create_schema(conn: sqlite3.Connection) -> None:
        """Creates the table, or adds what an older one lacks (in one transaction, so two
        processes starting on one file cannot both add the column)."""
        with database.immediate_transaction(conn):
            conn.execute(SCHEMA)
            conn.execute(INDEX)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(saga_barrier)")}
            if "compensation_epoch" not in columns:
                conn.execute(ADD_COMPENSATION_EPOCH)

    def execute(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            if COMPENSATE in rows:
                # Hanging: the step was already compensated; applying now would never be undone.
                if EXECUTE not in rows:
                    self._insert(conn, saga_id, step, EXECUTE, REJECTED, None,
                                 BARRIER_REJECTED, HANGING_MESSAGE)
                return BarrierAnswer(Result.fail(BARRIER_REJECTED, HANGING_MESSAGE), HANGING)
            if EXECUTE in rows:
                return BarrierAnswer(rows[EXECUTE].to_result(), DUPLICATE)
            result = self._run_business(conn, call, handler)
            self._insert_result(conn, saga_id, step, EXECUTE, result)
            return BarrierAnswer(result, APPLIED)

        return self._in_transaction(conn, body)

    def compensate(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)
        epoch = epoch_of(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            duplicate, path = self._claim(conn, rows, saga_id, step, COMPENSATE, epoch)
            if duplicate is not None:
                return duplicate
            executed = rows.get(EXECUTE)
            if executed is None or executed.outcome in (FAILED, REJECTED):
                # Null compensation: nothing was applied, so there is nothing to undo. The
                # REJECTED execute row makes a late Execute for this step refuse itself.
                if executed is None:
                    self._insert(conn, saga_id, step, EXECUTE, REJECTED, None,
                                 BARRIER_REJECTED, HANGING_MESSAGE)
                self._insert(conn, saga_id, step, COMPENSATE, NULL_COMPENSATION, None, "", "",
                             epoch)
                return BarrierAnswer(Result.ok(), NULL_COMPENSATED)
            result = self._run_business(conn, call, handler)
            self._insert_result(conn, saga_id, step, COMPENSATE, result, epoch)
            return BarrierAnswer(result, path)

        return self._in_transaction(conn, body)

    @staticmethod
    def _claim(
        conn: sqlite3.Connection, rows: dict[str, _Row], saga_id: str, step: str, op: str,
        epoch: int,
    ) -> tuple[Optional[BarrierAnswer], str]:
        """For an op decided per compensation epoch (compensate, confirm, cancel): the
        stored answer of a duplicate, or (None, path) when the call must decide the op now.
        A row stored FAILED in an earlier epoch (the saga was retried) is deleted, path
        NEW_EPOCH, and the new result takes its place in this transaction; any other stored
        row answers every epoch (an op that took effect never runs twice)."""
        stored = rows.get(op)
        if stored is None:
            return None, APPLIED
        if stored.outcome != FAILED or stored.compensation_epoch >= epoch:
            return BarrierAnswer(stored.to_result(), DUPLICATE), DUPLICATE
        conn.execute(
            "DELETE FROM saga_barrier WHERE saga_id = ? AND step = ? AND op = ?",
            (saga_id, step, op),
        )
        return None, NEW_EPOCH

    def cleanup(self, conn: sqlite3.Connection) -> int:
        """Deletes rows older than the retention period; returns how many were deleted.

        After this, a duplicate or hanging call for a deleted step is no longer recognised,
        so the retention must exceed the coordinator's longest possible re-delivery window.
        """
        if conn.in_transaction:
            raise RuntimeError("cleanup must run outside a transaction")
        cutoff = self._clock_ms() - self.retention_ms
        cur = conn.execute("DELETE FROM saga_barrier WHERE created_at < ?", (cutoff,))
        return cur.rowcount

    def _in_transaction(
        self, conn: sqlite3.Connection, body: Callable[[], BarrierAnswer]
    ) -> BarrierAnswer:
        if conn.isolation_level is not None:
            raise ValueError("the barrier needs a connection opened with isolation_level=None")
        if conn.in_transaction:
            raise RuntimeError("the barrier must own the transaction; one is already open")
        # IMMEDIATE: the read-check-insert below cannot race with another call for the step.
        with database.immediate_transaction(conn):
            return body()

    @staticmethod
    def _run_business(conn: sqlite3.Connection, call: C, handler: Handler) -> Result:
        # The savepoint lets a business failure discard whatever the handler wrote while the
        # FAILED barrier row is still committed.
        conn.execute("SAVEPOINT barrier_business")
        result = handler(conn, call)
        if not isinstance(result, Result):
            raise TypeError(f"barrier handler returned {type(result).__name__}, not Result")
        if not result.succeeded:
            conn.execute("ROLLBACK TO barrier_business")
        conn.execute("RELEASE barrier_business")
        return result

    @staticmethod
    def _rows(conn: sqlite3.Connection, saga_id: str, step: str) -> dict[str, _Row]:
        cur = conn.execute(
            "SELECT op, outcome, output, error_code, error_message, compensation_epoch"
            " FROM saga_barrier WHERE saga_id = ? AND step = ?",
            (saga_id, step),
        )
        return {op: _Row(outcome, output, code, msg, epoch)
                for op, outcome, output, code, msg, epoch in cur}

    def _insert_result(
        self, conn: sqlite3.Connection, saga_id: str, step: str, op: str, result: Result,
        compensation_epoch: int = 0,
    ) -> None:
        if result.succeeded:
            self._insert(conn, saga_id, step, op, SUCCEEDED, result.output, "", "",
                         compensation_epoch)
        else:
            self._insert(conn, saga_id, step, op, FAILED, None,
                         result.error_code, result.error_message, compensation_epoch)

    def _insert(
        self,
        conn: sqlite3.Connection,
        saga_id: str,
        step: str,
        op: str,
        outcome: str,
        output: Optional[bytes],
        error_code: str,
        error_message: str,
        compensation_epoch: int = 0,
    ) -> None:
        conn.execute(
            "INSERT INTO saga_barrier (saga_id, step, op, outcome, output, error_code,"
            " error_message, created_at, compensation_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (saga_id, step, op, outcome, output, error_code, error_message, self._clock_ms(),
             compensation_epoch),
        )


def epoch_of(call: StepCall) -> int:
    epoch = getattr(call, "compensation_epoch", 0)
    if not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"a barrier call's compensation_epoch must be an integer >= 0, got {epoch!r}")
    return epoch


def _key(call: StepCall) -> tuple[str, str]:
    if not call.saga_id or not call.step_name:
        raise ValueError("a barrier call needs a non-empty saga_id and step_name")
    return call.saga_id, call.step_name
