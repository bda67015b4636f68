"""Parsing and applying the fault switches."""
from __future__ import annotations

import threading
import time

import grpc
import pytest

from payment_participant import faults
from payment_participant.errors import CallAborted
from payment_participant.faults import Directive, FaultPlan, FaultSyntaxError


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", []),
        ("error", [Directive("error")]),
        ("error@2", [Directive("error", None, 2)]),
        ("fail", [Directive("fail")]),
        ("sleep-before=1500@1", [Directive("sleep-before", "1500", 1)]),
        ("sleep-after=20", [Directive("sleep-after", "20", None)]),
        ("error-while-file=/tmp/x", [Directive("error-while-file", "/tmp/x")]),
        ("error-while-file=/tmp/a@b", [Directive("error-while-file", "/tmp/a@b")]),
        ("error-while-file=/tmp/a@3", [Directive("error-while-file", "/tmp/a", 3)]),
        (
            " error@1 , sleep-after=5 ,, fail@2",
            [Directive("error", None, 1), Directive("sleep-after", "5"), Directive("fail", None, 2)],
        ),
    ],
)
def test_parse(value, expected):
    assert faults.parse(value) == expected


@pytest.mark.parametrize(
    "value",
    ["boom", "error=1", "fail=yes", "sleep-before", "sleep-before=", "sleep-before=abc",
     "sleep-after=-1", "error@0", "error-while-file"],
)
def test_parse_rejects_malformed(value):
    with pytest.raises(FaultSyntaxError):
        faults.parse(value)


def test_attempt_limit_applies_to_attempts_1_to_n():
    metadata = {faults.EXECUTE_KEY: "error@2"}
    assert [faults.plan_for(metadata, faults.EXECUTE_KEY, a).error for a in (1, 2, 3, 4)] == [
        True, True, False, False]


def test_plan_uses_only_the_key_for_the_operation():
    metadata = {faults.EXECUTE_KEY: "fail", faults.COMPENSATE_KEY: "sleep-after=7,error"}
    assert faults.plan_for(metadata, faults.EXECUTE_KEY, 1) == FaultPlan(fail=True)
    assert faults.plan_for(metadata, faults.COMPENSATE_KEY, 1) == FaultPlan(
        error=True, sleep_after_ms=7)
    assert faults.plan_for({}, faults.EXECUTE_KEY, 1) == faults.NO_FAULTS


def test_error_while_file_is_unavailable_only_while_the_file_exists(tmp_path):
    flag = tmp_path / "down"
    plan = faults.plan_for({faults.EXECUTE_KEY: f"error-while-file={flag}"}, faults.EXECUTE_KEY, 1)
    faults.raise_injected_errors(plan)  # no file: no error
    flag.write_text("")
    with pytest.raises(CallAborted) as err:
        faults.raise_injected_errors(plan)
    assert err.value.code == grpc.StatusCode.UNAVAILABLE
    flag.unlink()
    faults.raise_injected_errors(plan)


def test_error_is_unavailable():
    with pytest.raises(CallAborted) as err:
        faults.raise_injected_errors(FaultPlan(error=True))
    assert err.value.code == grpc.StatusCode.UNAVAILABLE


def test_injected_failure_result():
    result = faults.injected_failure()
    assert not result.succeeded and result.error_code == "INJECTED_FAILURE"


def test_sleep_is_cut_short_by_shutdown():
    stop = threading.Event()
    stop.set()
    started = time.monotonic()
    assert faults.sleep(60_000, stop) is True
    assert time.monotonic() - started < 5
    assert faults.sleep(0, threading.Event()) is False
