"""The barrier for TCC branches (saga.v1.TccParticipant: Try, Confirm, Cancel), on the
saga barrier's table with ops `try`, `confirm`, `cancel`, in the same local transaction as
the business change:

- a Cancel whose Try never arrived (or failed) succeeds without running the handler
  (null cancel), and records the Try as refused;
- a Try arriving after its Cancel is refused with BARRIER_REJECTED (hanging);
- a duplicate Try, Confirm or Cancel is answered from the stored result;
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

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            if CONFIRM in rows:
                return BarrierAnswer(rows[CONFIRM].to_result(), DUPLICATE)
            tried = rows.get(TRY)
            if tried is None or tried.outcome != SUCCEEDED:
                return self._refuse(conn, saga_id, step, CONFIRM, "confirm without a successful try")
            if CANCEL in rows:
                return self._refuse(conn, saga_id, step, CONFIRM, "confirm after cancel")
            return self._apply(conn, call, saga_id, step, CONFIRM, handler)

        return self._in_transaction(conn, body)

    def cancel(self, conn: sqlite3.Connection, call: C, handler: Handler) -> BarrierAnswer:
        saga_id, step = _key(call)

        def body() -> BarrierAnswer:
            rows = self._rows(conn, saga_id, step)
            if CANCEL in rows:
                return BarrierAnswer(rows[CANCEL].to_result(), DUPLICATE)
            if CONFIRM in rows:
                return self._refuse(conn, saga_id, step, CANCEL, "cancel after confirm")
            tried = rows.get(TRY)
            if tried is None or tried.outcome in (FAILED, REJECTED):
                if tried is None:
                    self._insert(conn, saga_id, step, TRY, REJECTED, None,
                                 BARRIER_REJECTED, HANGING_TRY_MESSAGE)
                self._insert(conn, saga_id, step, CANCEL, NULL_COMPENSATION, None, "", "")
                return BarrierAnswer(Result.ok(), NULL_COMPENSATED)
            return self._apply(conn, call, saga_id, step, CANCEL, handler)

        return self._in_transaction(conn, body)

    def _apply(self, conn: sqlite3.Connection, call: C, saga_id: str, step: str, op: str,
               handler: Handler) -> BarrierAnswer:
        result = self._run_business(conn, call, handler)
        self._insert_result(conn, saga_id, step, op, result)
        return BarrierAnswer(result, APPLIED)

    def _refuse(self, conn: sqlite3.Connection, saga_id: str, step: str, op: str,
                why: str) -> BarrierAnswer:
        result = Result.fail(TCC_OUT_OF_ORDER, why)
        self._insert_result(conn, saga_id, step, op, result)
        return BarrierAnswer(result, APPLIED)
