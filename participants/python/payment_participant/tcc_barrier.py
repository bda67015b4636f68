"""The barrier for TCC branches (saga.v1.TccParticipant: Try, Confirm, Cancel), on the
saga barrier's table with ops `try`, `confirm`, `cancel`, in the same local transaction as
the business change:

- a Cancel whose Try never arrived (or failed) succeeds without running the handler
  (null cancel), and records the Try as refused;
- a Try arriving after its Cancel is refused with BARRIER_REJECTED (hanging);
- a duplicate Try, Confirm or Cancel is answered from the stored result, except a Confirm
  or Cancel stored FAILED in an earlier compensation epoch (`call.compensation_epoch`,
  absent = 0): after a RetrySaga it runs again, once, and its result replaces the row (one
  that took effect never runs twice);
- a Confirm without a successful Try, or a Cancel after Confirm, is refused (FAILED
  TCC_OUT_OF_ORDER; the coordinator never sends either).

Handlers and errors as for Barrier: return Result.ok / Result.fail, raise for transient.
"""
from __future__ import annotations

import sqlite3

from .barrier import (
    APPLIED,
    BARRIER_REJECTED,
    DUPLICATE,
    FAILED,
    HANGING,
    NULL_COMPENSATED,
    NULL_COMPENSATION,
    REJECTED,
    SUCCEEDED,
    Barrier,
    BarrierAnswer,
    C,
    Handler,
    _key,
    epoch_of,
)
from .result import Result

TRY = "try"
CONFIRM = "confirm"
CANCEL = "cancel"

TCC_OUT_OF_ORDER = "TCC_OUT_OF_ORDER"
HANGING_TRY_MESSAGE = "try arrived after its cancel (hanging); refused by the barrier"


class TccBarrier(Barrier):
    def try_(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            if CANCEL in rows:
                if TRY not in rows:
                    self._insert(conn, saga_id, step, TRY, REJECTED, None,
                                 BARRIER_REJECTED, HANGING_TRY_MESSAGE)
                return BarrierAnswer(Result.fail(BARRIER_REJECTED, HANGING_TRY_MESSAGE), HANGING)
            if TRY in rows:
                return BarrierAnswer(rows[TRY].to_result(), DUPLICATE)
            return self._apply(conn, call, saga_id, step, TRY, handler)

        return self._in_transaction(conn, body)

    def confirm(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)
        epoch = epoch_of(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            duplicate, path = self._claim(conn, rows, saga_id, step, CONFIRM, epoch)
            if duplicate is not None:
                return duplicate
            tried = rows.get(TRY)
            if tried is None or tried.outcome != SUCCEEDED:
                return self._refuse(conn, saga_id, step, CONFIRM,
                                    "confirm without a successful try", epoch, path)
            if CANCEL in rows:
                return self._refuse(conn, saga_id, step, CONFIRM, "confirm after cancel",
                                    epoch, path)
            return self._apply(conn, call, saga_id, step, CONFIRM, handler, epoch, path)

        return self._in_transaction(conn, body)

    def cancel(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)
        epoch = epoch_of(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            duplicate, path = self._claim(conn, rows, saga_id, step, CANCEL, epoch)
            if duplicate is not None:
                return duplicate
            if CONFIRM in rows:
                return self._refuse(conn, saga_id, step, CANCEL, "cancel after confirm",
                                    epoch, path)
            tried = rows.get(TRY)
            if tried is None or tried.outcome in (FAILED, REJECTED):
                if tried is None:
                    self._insert(conn, saga_id, step, TRY, REJECTED, None,
                                 BARRIER_REJECTED, HANGING_TRY_MESSAGE)
                self._insert(conn, saga_id, step, CANCEL, NULL_COMPENSATION, None, "", "",
                             epoch)
                return BarrierAnswer(Result.ok(), NULL_COMPENSATED)
            return self._apply(conn, call, saga_id, step, CANCEL, handler, epoch, path)

        return self._in_transaction(conn, body)

    def _apply(self, conn: sqlite3.Connection, call: C, saga_id: str, step: str, op: str,
               handler: Handler, epoch: int = 0, path: str = APPLIED) -> BarrierAnswer:
        result = self._run_business(conn, call, handler)
        self._insert_result(conn, saga_id, step, op, result, epoch)
        return BarrierAnswer(result, path)

    def _refuse(self, conn: sqlite3.Connection, saga_id: str, step: str, op: str,
                why: str, epoch: int, path: str) -> BarrierAnswer:
        result = Result.fail(TCC_OUT_OF_ORDER, why)
        self._insert_result(conn, saga_id, step, op, result, epoch)
        return BarrierAnswer(result, path)
