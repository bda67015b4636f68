"""Test-only fault switches read from StepCall.metadata (language-neutral, see
test/conformance/PARTICIPANT-PROTOCOL.md, "Fault switches").

`fault.execute` / `fault.compensate` (TCC: `fault.try` / `fault.confirm` / `fault.cancel`) hold comma-separated directives `name[=arg][@N]`;
`@N` limits a directive to attempts 1..N. Application order (enforced by step_runner):
error-while-file, error, fail, sleep-before, (effect), sleep-after.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Mapping, Optional

from .errors import unavailable
from .result import Result

EXECUTE_KEY = "fault.execute"
COMPENSATE_KEY = "fault.compensate"


def key_of(op: str) -> str:
    """The metadata key of an operation: fault.execute, fault.compensate, and for TCC
    branches fault.try, fault.confirm, fault.cancel."""
    return f"fault.{op}"
INJECTED_FAILURE = "INJECTED_FAILURE"

ERROR_WHILE_FILE = "error-while-file"
ERROR = "error"
FAIL = "fail"
SLEEP_BEFORE = "sleep-before"
SLEEP_AFTER = "sleep-after"

_NEEDS_ARG = {ERROR_WHILE_FILE, SLEEP_BEFORE, SLEEP_AFTER}
_NO_ARG = {ERROR, FAIL}
# A trailing "@<digits>" is the attempt limit; anything before it (a path may contain "@")
# is the directive itself.
_LIMIT = re.compile(r"^(?P<body>.*?)@(?P<limit>\d+)$", re.DOTALL)


class FaultSyntaxError(ValueError):
    """The fault metadata is malformed (a broken test setup, not a business failure)."""


@dataclass(frozen=True)
class Directive:
    name: str
    arg: Optional[str] = None
    limit: Optional[int] = None  # None: every attempt

    def active(self, attempt: int) -> bool:
        return self.limit is None or attempt <= self.limit


@dataclass(frozen=True)
class FaultPlan:
    """The directives that apply to one attempt, ready to act on."""

    error_while_files: tuple[str, ...] = ()
    error: bool = False
    fail: bool = False
    sleep_before_ms: int = 0
    sleep_after_ms: int = 0


NO_FAULTS = FaultPlan()


def parse(value: str) -> list[Directive]:
    directives = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        limit: Optional[int] = None
        match = _LIMIT.match(item)
        if match:
            item, limit = match.group("body"), int(match.group("limit"))
            if limit < 1:
                raise FaultSyntaxError(f"fault attempt limit must be >= 1 in {item!r}")
        name, has_arg, arg = item.partition("=")
        name = name.strip()
        if name in _NEEDS_ARG:
            if not has_arg or not arg:
                raise FaultSyntaxError(f"fault directive {name!r} needs an argument")
            if name != ERROR_WHILE_FILE:
                _milliseconds(name, arg)
        elif name in _NO_ARG:
            if has_arg:
                raise FaultSyntaxError(f"fault directive {name!r} takes no argument")
        else:
            raise FaultSyntaxError(f"unknown fault directive {name!r}")
        directives.append(Directive(name, arg if has_arg else None, limit))
    return directives


def plan_for(metadata: Mapping[str, str], key: str, attempt: int) -> FaultPlan:
    """Builds the plan for `key` (EXECUTE_KEY or COMPENSATE_KEY) at this attempt."""
    value = metadata.get(key, "")
    if not value:
        return NO_FAULTS
    files: list[str] = []
    error = fail = False
    sleep_before = sleep_after = 0
    for d in parse(value):
        if not d.active(attempt):
            continue
        if d.name == ERROR_WHILE_FILE:
            files.append(d.arg or "")
        elif d.name == ERROR:
            error = True
        elif d.name == FAIL:
            fail = True
        elif d.name == SLEEP_BEFORE:  # a repeated sleep directive: the last one wins
            sleep_before = _milliseconds(d.name, d.arg or "")
        elif d.name == SLEEP_AFTER:
            sleep_after = _milliseconds(d.name, d.arg or "")
    return FaultPlan(tuple(files), error, fail, sleep_before, sleep_after)


def raise_injected_errors(plan: FaultPlan) -> None:
    """Applies error-while-file and error: a transient gRPC UNAVAILABLE with no effect."""
    for path in plan.error_while_files:
        if os.path.exists(path):
            raise unavailable(f"injected fault: error-while-file ({path} exists)")
    if plan.error:
        raise unavailable("injected fault: error")


def injected_failure() -> Result:
    return Result.fail(INJECTED_FAILURE, "injected fault: fail")


def sleep(ms: int, stop: threading.Event) -> bool:
    """Waits `ms` ms regardless of the call's cancellation, but not past process shutdown
    (so SIGTERM stays bounded). Returns True when cut short by shutdown."""
    if ms <= 0:
        return False
    return stop.wait(ms / 1000.0)


def _milliseconds(name: str, arg: str) -> int:
    try:
        ms = int(arg)
    except ValueError:
        raise FaultSyntaxError(
            f"fault directive {name!r} needs whole milliseconds, got {arg!r}"
        ) from None
    if ms < 0:
        raise FaultSyntaxError(f"fault directive {name!r} needs ms >= 0, got {ms}")
    return ms
