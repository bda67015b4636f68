"""Opening the participant's SQLite database the way the barrier needs it."""
from __future__ import annotations

import contextlib
import os
import sqlite3
from typing import Iterator

# How long a call waits for another call's write lock before failing (transiently).
BUSY_TIMEOUT_S = 5.0


def connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (isolation_level=None) so that the barrier issues
    BEGIN IMMEDIATE / COMMIT itself instead of Python's implicit transactions."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    return conn


@contextlib.contextmanager
def connection(path: str) -> Iterator[sqlite3.Connection]:
    """One short-lived connection per call: cheap for SQLite, and nothing is left open
    (or shared across gRPC worker threads) when the server stops."""
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock up front, so a read-check-write cannot race or fail
    to upgrade a read lock later); COMMIT when the block ends, ROLLBACK if it raises."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def open_database(path: str) -> sqlite3.Connection:
    """Creates the file (and its directory) if missing and switches it to WAL, which
    persists in the file: readers no longer block the single writer."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    conn = connect(path)
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.close()
        raise RuntimeError(f"could not switch {path} to WAL mode (got {mode!r})")
    return conn
