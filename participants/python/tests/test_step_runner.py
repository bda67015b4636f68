"""Order of action lookup, deadline, fault switches and barrier for one call."""
from __future__ import annotations

import time

import grpc
import pytest

from payment_participant import payment
from payment_participant.deadline import Deadline
from payment_participant.errors import CallAborted
from payment_participant.step_runner import StepRunner

from .conftest import barrier_rows, step_call


@pytest.fixture
def runner(db_path: str, refund) -> StepRunner:
    return StepRunner(
        db_path=db_path,
        execute_actions={payment.CHARGE: payment.charge},
        compensate_actions={payment.REFUND: refund},
    )


def aborted(fn) -> grpc.StatusCode:
    with pytest.raises(CallAborted) as err:
        fn()
    return err.value.code


def test_unknown_action_is_unimplemented(runner):
    assert aborted(lambda: runner.execute(step_call(action="refund"), Deadline.none())) == (
        grpc.StatusCode.UNIMPLEMENTED)
    assert aborted(lambda: runner.compensate(step_call(action="charge"), Deadline.none())) == (
        grpc.StatusCode.UNIMPLEMENTED)


def test_error_fault_is_transient_without_effect_then_applies(runner, conn):
    meta = {"fault.execute": "error@2"}
    for attempt in (1, 2):
        code = aborted(lambda: runner.execute(
            step_call(attempt=attempt, metadata=meta), Deadline.none()))
        assert code == grpc.StatusCode.UNAVAILABLE
    assert barrier_rows(conn) == {} and payment.balance(conn, "acc-1") == 10000

    answer = runner.execute(step_call(attempt=3, metadata=meta), Deadline.none())
    assert answer.result.succeeded and payment.balance(conn, "acc-1") == 9500


def test_fail_fault_is_recorded_by_the_barrier(runner, conn):
    answer = runner.execute(step_call(metadata={"fault.execute": "fail"}), Deadline.none())
    assert answer.result.error_code == "INJECTED_FAILURE"
    assert barrier_rows(conn)["execute"][:1] == ("FAILED",)
    assert payment.balance(conn, "acc-1") == 10000
    # Compensate of a failed execute: null compensation.
    comp = runner.compensate(step_call(action="refund"), Deadline.none())
    assert comp.path == "null_compensation"


def test_compensate_fault_key_is_separate(runner, conn):
    meta = {"fault.compensate": "error"}
    assert runner.execute(step_call(metadata=meta), Deadline.none()).result.succeeded
    assert aborted(lambda: runner.compensate(
        step_call(action="refund", metadata=meta), Deadline.none())) == grpc.StatusCode.UNAVAILABLE
    assert payment.balance(conn, "acc-1") == 9500


def test_malformed_fault_is_invalid_argument(runner, conn):
    code = aborted(lambda: runner.execute(
        step_call(metadata={"fault.execute": "explode"}), Deadline.none()))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and barrier_rows(conn) == {}


def test_expired_deadline_starts_no_work(runner, conn):
    expired = Deadline(time.monotonic() - 1)
    assert aborted(lambda: runner.execute(step_call(), expired)) == (
        grpc.StatusCode.DEADLINE_EXCEEDED)
    assert barrier_rows(conn) == {} and payment.balance(conn, "acc-1") == 10000


def test_cancelled_call_starts_no_work(runner, conn):
    cancelled = Deadline(None, is_active=lambda: False)
    assert aborted(lambda: runner.execute(step_call(), cancelled)) == (
        grpc.StatusCode.DEADLINE_EXCEEDED)
    assert barrier_rows(conn) == {}


def test_sleep_before_ignores_the_deadline_and_applies(runner, conn):
    # The deadline passes during the sleep; the late request is applied anyway (simulated
    # late arrival), which is what lets the conformance suite produce hanging executes.
    deadline = Deadline(time.monotonic() + 0.05)
    answer = runner.execute(step_call(metadata={"fault.execute": "sleep-before=200"}), deadline)
    assert deadline.expired()
    assert answer.result.succeeded and payment.balance(conn, "acc-1") == 9500


def test_sleep_before_after_null_compensation_is_refused(runner, conn):
    runner.compensate(step_call(action="refund"), Deadline.none())
    late = runner.execute(step_call(metadata={"fault.execute": "sleep-before=1"}), Deadline.none())
    assert late.result.error_code == "BARRIER_REJECTED"
    assert payment.balance(conn, "acc-1") == 10000


def test_sleep_before_is_cut_short_by_shutdown_without_effect(runner, conn):
    runner.stopping.set()
    meta = {"fault.execute": "sleep-before=60000"}
    assert aborted(lambda: runner.execute(step_call(metadata=meta), Deadline.none())) == (
        grpc.StatusCode.UNAVAILABLE)
    assert barrier_rows(conn) == {}


def test_sleep_after_commits_before_answering(runner, conn, db_path):
    started = time.monotonic()
    answer = runner.execute(step_call(metadata={"fault.execute": "sleep-after=100"}),
                            Deadline.none())
    assert time.monotonic() - started >= 0.1
    assert answer.result.succeeded and payment.balance(conn, "acc-1") == 9500


def test_missing_saga_or_step_is_invalid_argument(runner):
    assert aborted(lambda: runner.execute(step_call(saga_id=""), Deadline.none())) == (
        grpc.StatusCode.INVALID_ARGUMENT)


def test_deadline_from_step_call_timestamp():
    call = step_call()
    call.deadline.FromMilliseconds(int(time.time() * 1000) - 10)
    assert Deadline.for_call(call).expired()
    call.deadline.FromMilliseconds(int(time.time() * 1000) + 60_000)
    assert not Deadline.for_call(call).expired()
    assert not Deadline.for_call(step_call()).expired()  # no deadline set
