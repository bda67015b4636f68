"""Errors that end a call with a gRPC status instead of a StepResult.

Every gRPC error is transient for the coordinator (it retries with the same idempotency
key), so these must only be raised when no business effect was committed.
"""
from __future__ import annotations

import grpc


class CallAborted(Exception):
    """Ends the call with `code`; `details` is safe to send to the caller (no payloads)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def unavailable(details: str) -> CallAborted:
    return CallAborted(grpc.StatusCode.UNAVAILABLE, details)


def deadline_exceeded(details: str) -> CallAborted:
    return CallAborted(grpc.StatusCode.DEADLINE_EXCEEDED, details)


def unimplemented(details: str) -> CallAborted:
    return CallAborted(grpc.StatusCode.UNIMPLEMENTED, details)


def invalid_argument(details: str) -> CallAborted:
    return CallAborted(grpc.StatusCode.INVALID_ARGUMENT, details)
