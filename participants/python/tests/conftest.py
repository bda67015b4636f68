"""Shared fixtures: a fresh SQLite file per test and StepCall builders."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from payment_participant import database, payment
from payment_participant.barrier import Barrier, Handler
from payment_participant.gateway import PaymentGateway
from payment_participant.stubs import pb


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = str(tmp_path / "participant.db")
    conn = database.open_database(path)
    Barrier.create_schema(conn)
    payment.create_schema(conn)
    payment.seed(conn, {"accounts": {"acc-1": 10000, "acc-poor": 100}})
    conn.close()
    return path


@pytest.fixture
def gateway(tmp_path: Path) -> PaymentGateway:
    gw = PaymentGateway(str(tmp_path / "gateway.db"))
    gw.create_schema()
    return gw


@pytest.fixture
def refund(gateway: PaymentGateway) -> Handler:
    return payment.refund_through(gateway)


def gateway_counts(gw: PaymentGateway, payment_id: str) -> tuple[int, int]:
    """(refund requests received, refunds made) by the gateway for one payment."""
    with database.connection(gw.path) as c:
        requests = c.execute(
            "SELECT COUNT(*) FROM gateway_requests WHERE payment_id = ?", (payment_id,)
        ).fetchone()[0]
        refunds = c.execute(
            "SELECT COUNT(*) FROM gateway_refunds WHERE payment_id = ?", (payment_id,)
        ).fetchone()[0]
    return requests, refunds


@pytest.fixture
def conn(db_path: str) -> Iterator[sqlite3.Connection]:
    c = database.connect(db_path)
    yield c
    c.close()


def step_call(
    saga_id: str = "saga-1",
    step_name: str = "pay",
    action: str = "charge",
    payload: bytes = b'{"account":"acc-1","amount_cents":500}',
    attempt: int = 1,
    metadata: dict[str, str] | None = None,
) -> "pb.StepCall":
    return pb.StepCall(
        saga_id=saga_id,
        step_name=step_name,
        action=action,
        payload=payload,
        attempt=attempt,
        idempotency_key=f"{saga_id}/{step_name}/{'compensate' if action == 'refund' else 'execute'}",
        metadata=metadata or {},
    )


def barrier_rows(conn: sqlite3.Connection, saga_id: str = "saga-1") -> dict[str, tuple]:
    """op -> (outcome, output, error_code) for one saga."""
    cur = conn.execute(
        "SELECT op, outcome, output, error_code FROM saga_barrier WHERE saga_id = ?", (saga_id,)
    )
    return {op: (outcome, output, code) for op, outcome, output, code in cur}


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    """Polls a condition with a bound, instead of sleeping for a guessed duration."""
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
        time.sleep(0.01)
