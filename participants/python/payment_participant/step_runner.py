"""Runs one Execute or Compensate (or TCC Try, Confirm, Cancel) through the protocol's
steps, in the protocol's order:
action lookup, deadline, fault switches, barrier + business handler, sleep-after.

Generic: a participant supplies its action handlers; nothing here knows about payments.
"""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import database, faults
from .barrier import BarrierAnswer, Handler
from .deadline import Deadline
from .errors import deadline_exceeded, invalid_argument, unavailable, unimplemented
from .result import Result
from .tcc_barrier import CANCEL, CONFIRM, TRY, TccBarrier

EXECUTE = "execute"
COMPENSATE = "compensate"


@dataclass
class StepRunner:
    db_path: str
    execute_actions: Mapping[str, Handler]
    compensate_actions: Mapping[str, Handler]
    # TCC branches (saga.v1.TccParticipant), by action.
    try_actions: Mapping[str, Handler] = field(default_factory=dict)
    confirm_actions: Mapping[str, Handler] = field(default_factory=dict)
    cancel_actions: Mapping[str, Handler] = field(default_factory=dict)
    barrier: TccBarrier = field(default_factory=TccBarrier)
    # Set at process shutdown: wakes fault sleeps so SIGTERM stays bounded.
    stopping: threading.Event = field(default_factory=threading.Event)

    def execute(self, call: Any, deadline: Deadline) -> BarrierAnswer:
        return self._run(EXECUTE, call, deadline)

    def compensate(self, call: Any, deadline: Deadline) -> BarrierAnswer:
        return self._run(COMPENSATE, call, deadline)

    def try_(self, call: Any, deadline: Deadline) -> BarrierAnswer:
        return self._run(TRY, call, deadline)

    def confirm(self, call: Any, deadline: Deadline) -> BarrierAnswer:
        return self._run(CONFIRM, call, deadline)

    def cancel(self, call: Any, deadline: Deadline) -> BarrierAnswer:
        return self._run(CANCEL, call, deadline)

    def _run(self, op: str, call: Any, deadline: Deadline) -> BarrierAnswer:
        actions = {
            EXECUTE: self.execute_actions,
            COMPENSATE: self.compensate_actions,
            TRY: self.try_actions,
            CONFIRM: self.confirm_actions,
            CANCEL: self.cancel_actions,
        }[op]
        handler = actions.get(call.action)
        if handler is None:
            known = ", ".join(sorted(actions)) or "none"
            raise unimplemented(
                f"{op} action {call.action!r} is not implemented by this participant"
                f" (known {op} actions: {known})"
            )
        if not call.saga_id or not call.step_name:
            raise invalid_argument("call.saga_id and call.step_name are required")
        if deadline.expired():
            raise deadline_exceeded(f"{op} arrived after its deadline; not started")

        key = faults.key_of(op)
        try:
            plan = faults.plan_for(call.metadata, key, call.attempt)
        except faults.FaultSyntaxError as exc:
            raise invalid_argument(f"{key}: {exc}") from None

        faults.raise_injected_errors(plan)
        if plan.fail:
            business: Handler = _injected_failure
        elif plan.sleep_before_ms:
            # Simulates a request that arrives late: it deliberately ignores the call's
            # cancellation and deadline, and the barrier must cope (hanging execute).
            if faults.sleep(plan.sleep_before_ms, self.stopping):
                raise unavailable("participant is shutting down")
            business = handler
        else:
            business = _within_deadline(handler, deadline, op)

        with database.connection(self.db_path) as conn:
            barrier_call = {
                EXECUTE: self.barrier.execute,
                COMPENSATE: self.barrier.compensate,
                TRY: self.barrier.try_,
                CONFIRM: self.barrier.confirm,
                CANCEL: self.barrier.cancel,
            }[op]
            answer = barrier_call(conn, call, business)

        faults.sleep(plan.sleep_after_ms, self.stopping)  # effect committed; response "lost"
        return answer


def _injected_failure(conn: sqlite3.Connection, call: Any) -> Result:
    return faults.injected_failure()


def _within_deadline(handler: Handler, deadline: Deadline, op: str) -> Handler:
    # Checked again inside the transaction: waiting for the write lock may have used up the
    # time, and work the coordinator no longer waits for is wasted (it will retry).
    def guarded(conn: sqlite3.Connection, call: Any) -> Result:
        if deadline.expired():
            raise deadline_exceeded(f"{op} deadline passed before the business change started")
        return handler(conn, call)

    return guarded

