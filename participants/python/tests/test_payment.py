"""Payment semantics (charge / refund) through the barrier, as the server runs them."""
from __future__ import annotations

import json

import pytest

from payment_participant import barrier as b
from payment_participant import payment
from payment_participant.barrier import Barrier

from .conftest import barrier_rows, gateway_counts, step_call

CHARGE_500 = b'{"account":"acc-1","amount_cents":500}'


def payment_row(conn, pid="pay-saga-1-pay"):
    return conn.execute(
        "SELECT account, amount_cents, status, refunded_at IS NOT NULL FROM payments"
        " WHERE payment_id = ?", (pid,)
    ).fetchone()


def test_charge_debits_and_records_payment(conn):
    answer = Barrier().execute(conn, step_call(payload=CHARGE_500), payment.charge)

    assert answer.result.succeeded
    assert answer.result.output == b'{"payment_id":"pay-saga-1-pay","amount_cents":500}'
    assert payment.balance(conn, "acc-1") == 9500
    assert payment_row(conn) == ("acc-1", 500, "CHARGED", 0)


def test_duplicate_charge_debits_once(conn):
    barrier = Barrier()
    first = barrier.execute(conn, step_call(payload=CHARGE_500, attempt=1), payment.charge)
    second = barrier.execute(conn, step_call(payload=CHARGE_500, attempt=2), payment.charge)
    assert second.path == b.DUPLICATE and second.result == first.result
    assert payment.balance(conn, "acc-1") == 9500


def test_insufficient_funds_fails_without_effect(conn):
    call = step_call(payload=b'{"account":"acc-poor","amount_cents":101}')
    answer = Barrier().execute(conn, call, payment.charge)

    assert not answer.result.succeeded
    assert answer.result.error_code == payment.INSUFFICIENT_FUNDS
    assert payment.balance(conn, "acc-poor") == 100
    assert payment_row(conn) is None
    assert barrier_rows(conn)["execute"][0] == "FAILED"


def test_exact_balance_can_be_charged(conn):
    call = step_call(payload=b'{"account":"acc-poor","amount_cents":100}')
    assert Barrier().execute(conn, call, payment.charge).result.succeeded
    assert payment.balance(conn, "acc-poor") == 0


def test_unknown_account_is_insufficient_funds(conn):
    call = step_call(payload=b'{"account":"nobody","amount_cents":1}')
    result = Barrier().execute(conn, call, payment.charge).result
    assert result.error_code == payment.INSUFFICIENT_FUNDS


@pytest.mark.parametrize(
    "payload",
    [b"", b"not json", b"\xff\xfe", b"[]", b'"x"', b"{}",
     b'{"account":"acc-1"}', b'{"account":"","amount_cents":5}', b'{"account":1,"amount_cents":5}',
     b'{"account":"acc-1","amount_cents":0}', b'{"account":"acc-1","amount_cents":-5}',
     b'{"account":"acc-1","amount_cents":1.5}', b'{"account":"acc-1","amount_cents":"5"}',
     b'{"account":"acc-1","amount_cents":true}',
     b'{"account":"acc-1","amount_cents":99999999999999999999999}'],
)
def test_malformed_payload_is_invalid_payload(conn, payload):
    result = Barrier().execute(conn, step_call(payload=payload), payment.charge).result
    assert not result.succeeded and result.error_code == payment.INVALID_PAYLOAD
    assert payment.balance(conn, "acc-1") == 10000


def test_refund_credits_exactly_once(conn, refund):
    barrier = Barrier()
    barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)
    first = barrier.compensate(conn, step_call(action="refund"), refund)
    second = barrier.compensate(conn, step_call(action="refund", attempt=2), refund)

    assert first.result.succeeded and second.path == b.DUPLICATE
    assert json.loads(first.result.output)["status"] == payment.REFUNDED
    assert payment.balance(conn, "acc-1") == 10000
    assert payment_row(conn) == ("acc-1", 500, "REFUNDED", 1)


def test_refund_goes_through_the_gateway_once_by_idempotency_key(conn, refund, gateway):
    barrier = Barrier()
    barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)
    for attempt in (1, 2, 3):  # retries after lost answers: the barrier answers them
        answer = barrier.compensate(conn, step_call(action="refund", attempt=attempt), refund)
        assert answer.result.succeeded
    assert gateway_counts(gateway, "pay-saga-1-pay") == (1, 1)
    assert json.loads(answer.result.output)["refund_id"] == "rf-pay-saga-1-pay"
    row = conn.execute("SELECT status, refund_id FROM payments").fetchone()
    assert row == (payment.REFUNDED, "rf-pay-saga-1-pay")


def test_refund_rolled_back_after_the_gateway_call_is_not_refunded_twice(conn, refund, gateway):
    # A crash between the gateway's refund and the participant's commit: the retry reaches
    # the gateway again (second request), which answers from its record (still one refund).
    Barrier().execute(conn, step_call(payload=CHARGE_500), payment.charge)
    conn.execute("BEGIN IMMEDIATE")
    assert refund(conn, step_call(action="refund")).succeeded
    conn.execute("ROLLBACK")
    answer = Barrier().compensate(conn, step_call(action="refund", attempt=2), refund)
    assert answer.result.succeeded and answer.path == b.APPLIED
    assert gateway_counts(gateway, "pay-saga-1-pay") == (2, 1)
    assert payment.balance(conn, "acc-1") == 10000


def test_refund_that_cannot_credit_never_calls_the_gateway(conn, refund, gateway):
    Barrier().execute(conn, step_call(payload=CHARGE_500), payment.charge)
    conn.execute("DELETE FROM accounts WHERE account = 'acc-1'")
    answer = Barrier().compensate(conn, step_call(action="refund"), refund)
    assert answer.result.error_code == payment.ACCOUNT_NOT_FOUND
    assert gateway_counts(gateway, "pay-saga-1-pay") == (0, 0)


def test_null_refund_never_calls_the_gateway(conn, refund, gateway):
    answer = Barrier().compensate(conn, step_call(action="refund"), refund)
    assert answer.path == b.NULL_COMPENSATED
    assert gateway_counts(gateway, "pay-saga-1-pay") == (0, 0)


def test_refund_is_state_based_even_without_the_barrier(conn, refund):
    Barrier().execute(conn, step_call(payload=CHARGE_500), payment.charge)
    # Called directly twice (e.g. barrier rows lost): the REFUNDED status makes it a no-op.
    for _ in range(2):
        conn.execute("BEGIN IMMEDIATE")
        assert refund(conn, step_call(action="refund")).succeeded
        conn.execute("COMMIT")
    assert payment.balance(conn, "acc-1") == 10000


def test_refund_of_never_charged_is_null_compensation_and_blocks_late_charge(conn, refund):
    barrier = Barrier()
    comp = barrier.compensate(conn, step_call(action="refund"), refund)
    late = barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)

    assert comp.path == b.NULL_COMPENSATED and comp.result.succeeded
    assert late.result.error_code == b.BARRIER_REJECTED
    assert payment.balance(conn, "acc-1") == 10000
    assert payment_row(conn) is None


def test_refund_after_failed_charge_is_null_compensation(conn, refund):
    barrier = Barrier()
    poor = b'{"account":"acc-poor","amount_cents":1000}'
    barrier.execute(conn, step_call(payload=poor), payment.charge)
    comp = barrier.compensate(conn, step_call(action="refund", payload=poor), refund)
    assert comp.path == b.NULL_COMPENSATED
    assert payment.balance(conn, "acc-poor") == 100


def test_refund_ignores_a_broken_payload(conn, refund):
    barrier = Barrier()
    barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)
    comp = barrier.compensate(conn, step_call(action="refund", payload=b"garbage"), refund)
    assert comp.result.succeeded and payment.balance(conn, "acc-1") == 10000


def test_charge_is_idempotent_on_payment_id_beyond_barrier_retention(conn):
    barrier = Barrier()
    first = barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)
    conn.execute("DELETE FROM saga_barrier")  # as if retention cleanup had run
    again = barrier.execute(conn, step_call(payload=CHARGE_500), payment.charge)
    assert again.path == b.APPLIED and again.result == first.result
    assert payment.balance(conn, "acc-1") == 9500


def test_seed_is_insert_or_ignore(conn):
    assert payment.seed(conn, {"accounts": {"acc-1": 1, "acc-new": 42}}) == 1
    assert payment.balance(conn, "acc-1") == 10000
    assert payment.balance(conn, "acc-new") == 42


@pytest.mark.parametrize(
    "seed", [{"accounts": []}, {"accounts": {"a": -1}}, {"accounts": {"a": "5"}}]
)
def test_invalid_seed_is_rejected(conn, seed):
    with pytest.raises(payment.InvalidSeed):
        payment.seed(conn, seed)
