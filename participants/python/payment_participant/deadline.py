"""When a call stops being worth working on.

Two sources, the earlier wins: StepCall.deadline (wall clock, set by the coordinator) and
the gRPC deadline (relative, so immune to clock skew between hosts). Kept on the monotonic
clock once computed so a wall-clock jump cannot extend it.
"""
from __future__ import annotations

import math
import time
from typing import Any, Optional


class Deadline:
    def __init__(self, expires_at: Optional[float], is_active: Any = None) -> None:
        self._expires_at = expires_at  # time.monotonic() value, None = no deadline
        self._is_active = is_active  # grpc context.is_active: False once the client cancelled

    @staticmethod
    def none() -> "Deadline":
        return Deadline(None)

    @staticmethod
    def for_call(call: Any, context: Any = None) -> "Deadline":
        now_mono, now_wall = time.monotonic(), time.time()
        candidates = []
        if call.HasField("deadline"):
            wall = call.deadline.seconds + call.deadline.nanos / 1e9
            candidates.append(now_mono + (wall - now_wall))
        if context is not None:
            remaining = context.time_remaining()
            if remaining is not None and math.isfinite(remaining):  # inf: no gRPC deadline
                candidates.append(now_mono + remaining)
        return Deadline(
            min(candidates) if candidates else None,
            context.is_active if context is not None else None,
        )

    def expired(self) -> bool:
        if self._is_active is not None and not self._is_active():
            return True
        return self._expires_at is not None and time.monotonic() >= self._expires_at
