"""Payment-gateway stand-in: the external system that actually moves the money back.

It keeps its own SQLite file, committed on its own, so a call to it is an effect outside
the participant's local transaction, exactly like a real gateway's HTTP API. It records
every refund request it receives (`gateway_requests`) and refunds once per idempotency
key (`gateway_refunds`): a repeated request with the same key is answered with the
refund it already made, as real gateways do with their idempotency keys.

The participant calls it at most once per refund (see payment.refund); the key covers the
one window the participant cannot: a crash after the gateway refunded but before the
participant's own transaction committed.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from . import database

SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS gateway_requests (
      seq             INTEGER PRIMARY KEY AUTOINCREMENT,
      idempotency_key TEXT    NOT NULL,
      payment_id      TEXT    NOT NULL,
      amount_cents    INTEGER NOT NULL,
      received_at     INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS gateway_refunds (
      idempotency_key TEXT    PRIMARY KEY,
      refund_id       TEXT    NOT NULL UNIQUE,
      payment_id      TEXT    NOT NULL,
      amount_cents    INTEGER NOT NULL,
      refunded_at     INTEGER NOT NULL
    )
    """,
)


@dataclass(frozen=True)
class GatewayRefund:
    refund_id: str
    amount_cents: int
    # False when the key had already been refunded (the gateway answered from its record).
    new: bool


class PaymentGateway:
    def __init__(self, path: str) -> None:
        if not path:
            raise ValueError("the payment gateway needs a database path")
        self.path = path

    def create_schema(self) -> None:
        conn = database.open_database(self.path)
        try:
            for statement in SCHEMA:
                conn.execute(statement)
        finally:
            conn.close()

    def refund(self, idempotency_key: str, payment_id: str, amount_cents: int) -> GatewayRefund:
        """Records the request, then refunds unless this key was refunded before."""
        if not idempotency_key:
            raise ValueError("a gateway refund needs an idempotency key")
        with database.connection(self.path) as conn:
            with database.immediate_transaction(conn):
                now = time.time_ns() // 1_000_000
                conn.execute(
                    "INSERT INTO gateway_requests (idempotency_key, payment_id, amount_cents,"
                    " received_at) VALUES (?, ?, ?, ?)",
                    (idempotency_key, payment_id, amount_cents, now),
                )
                existing = _refund(conn, idempotency_key)
                if existing is not None:
                    return GatewayRefund(existing[0], existing[1], False)
                refund_id = f"rf-{payment_id}"
                conn.execute(
                    "INSERT INTO gateway_refunds (idempotency_key, refund_id, payment_id,"
                    " amount_cents, refunded_at) VALUES (?, ?, ?, ?, ?)",
                    (idempotency_key, refund_id, payment_id, amount_cents, now),
                )
        return GatewayRefund(refund_id, amount_cents, True)


def _refund(conn: sqlite3.Connection, key: str) -> tuple[str, int] | None:
    return conn.execute(
        "SELECT refund_id, amount_cents FROM gateway_refunds WHERE idempotency_key = ?", (key,)
    ).fetchone()
