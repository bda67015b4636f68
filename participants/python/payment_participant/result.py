"""The typed answer of a step, independent of protobuf so the barrier can be reused anywhere."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """SUCCEEDED (with output bytes) or FAILED (a business failure: never retried)."""

    succeeded: bool
    output: bytes = b""
    error_code: str = ""
    error_message: str = ""

    @staticmethod
    def ok(output: bytes = b"") -> "Result":
        return Result(succeeded=True, output=output)

    @staticmethod
    def fail(error_code: str, error_message: str = "") -> "Result":
        if not error_code:
            raise ValueError("a FAILED result needs an error_code")
        return Result(succeeded=False, error_code=error_code, error_message=error_message)
