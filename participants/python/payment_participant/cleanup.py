"""Periodic deletion of barrier rows past their retention, on a background thread."""
from __future__ import annotations

import logging
import threading
from typing import Optional

from . import database
from .barrier import Barrier

log = logging.getLogger("payment_participant.cleanup")

DEFAULT_INTERVAL_S = 3600.0


class PeriodicCleanup:
    def __init__(self, db_path: str, barrier: Barrier,
                 interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self._db_path = db_path
        self._barrier = barrier
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def run_once(self) -> int:
        with database.connection(self._db_path) as conn:
            return self._barrier.cleanup(conn)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="barrier-cleanup", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            try:
                deleted = self.run_once()
                if deleted:
                    log.info("barrier cleanup deleted %d expired rows", deleted)
            except Exception:
                # A busy database now is no reason to stop cleaning later.
                log.exception("barrier cleanup failed; retrying next interval")
            if self._stop.wait(self._interval_s):
                return
