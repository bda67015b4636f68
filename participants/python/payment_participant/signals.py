"""The stop signals, blocked process-wide so the main thread can `sigwait` for them."""
from __future__ import annotations

import signal

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def block_stop_signals() -> None:
    """Must run before any thread starts (including grpc's, hence before importing grpc):
    threads inherit the mask, so a SIGTERM stays pending for `sigwait` in the main thread
    instead of killing the process via a thread that has no handler."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
