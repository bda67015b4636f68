"""Starts the real participant process (`python -m payment_participant`) the way the
TypeScript harness does, and talks to it over real gRPC with the generated stubs."""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from payment_participant.stubs import pb, pb_grpc

from .conftest import step_call, wait_until

PARTICIPANT_DIR = Path(__file__).resolve().parent.parent
READY_LINE = re.compile(r'^\{"listening":"127\.0\.0\.1:(\d+)"\}$')
START_TIMEOUT_S = 20
STOP_TIMEOUT_S = 15  # grace is 5 s; well above it but bounded


@dataclass
class Participant:
    proc: subprocess.Popen
    stub: pb_grpc.ParticipantStub
    channel: grpc.Channel
    db_path: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def balance(self, account: str = "acc-1") -> int:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(
                "SELECT balance_cents FROM accounts WHERE account = ?", (account,)
            ).fetchone()[0]

    def payment_status(self, pid: str):
        with sqlite3.connect(self.db_path) as conn:
            row = conn.execute(
                "SELECT status FROM payments WHERE payment_id = ?", (pid,)).fetchone()
        return None if row is None else row[0]

    def stop(self) -> tuple[int, str]:
        """SIGTERM; returns (exit code, anything else the process wrote to stdout)."""
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        return code, self.proc.stdout.read()


def start_participant(tmp_path: Path) -> Participant:
    db_path = str(tmp_path / "payment.db")
    log_path = tmp_path / "participant.stderr.log"
    env = dict(os.environ,
               PARTICIPANT_HOST="127.0.0.1",
               PARTICIPANT_PORT="0",
               PARTICIPANT_DB=db_path,
               PARTICIPANT_SEED=json.dumps({"accounts": {"acc-1": 10000}}))
    with open(log_path, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "payment_participant"],
            cwd=PARTICIPANT_DIR, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=START_TIMEOUT_S)
    except queue.Empty:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)
        raise AssertionError(f"no ready line within {START_TIMEOUT_S}s:\n{log_path.read_text()}")
    match = READY_LINE.match(line.rstrip("\n"))
    if not match:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)
        raise AssertionError(f"bad ready line {line!r}:\n{log_path.read_text()}")
    channel = grpc.insecure_channel(f"127.0.0.1:{match.group(1)}")
    return Participant(proc, pb_grpc.ParticipantStub(channel), channel, db_path, log_path)


@pytest.fixture
def participant(tmp_path: Path) -> Iterator[Participant]:
    p = start_participant(tmp_path)
    try:
        yield p
    finally:
        code, extra_stdout = p.stop()  # also fine if a test already stopped it
        assert code == 0, p.log()
        assert extra_stdout == "", "only the ready line may go to stdout"


def execute(p: Participant, call, timeout: float = 5.0):
    return p.stub.Execute(pb.ExecuteRequest(call=call), timeout=timeout).result


def compensate(p: Participant, call, timeout: float = 5.0):
    return p.stub.Compensate(pb.CompensateRequest(call=call), timeout=timeout).result


def test_charge_duplicate_refund_and_sigterm(tmp_path):
    p = start_participant(tmp_path)
    try:
        charged = execute(p, step_call(saga_id="s1"))
        again = execute(p, step_call(saga_id="s1", attempt=2))
        assert charged.outcome == pb.STEP_OUTCOME_SUCCEEDED
        assert json.loads(charged.output) == {"payment_id": "pay-s1-pay", "amount_cents": 500}
        assert again == charged
        assert p.balance() == 9500

        refunded = compensate(p, step_call(saga_id="s1", action="refund"))
        dup = compensate(p, step_call(saga_id="s1", action="refund", attempt=2))
        assert refunded.outcome == pb.STEP_OUTCOME_SUCCEEDED and dup == refunded
        assert p.balance() == 10000
        assert p.payment_status("pay-s1-pay") == "REFUNDED"
    finally:
        code, extra_stdout = p.stop()
    assert code == 0, p.log()
    assert extra_stdout == ""
    assert "amount_cents" not in p.log()  # payloads stay out of the logs


def test_business_failures_are_step_results(participant):
    poor = execute(participant, step_call(payload=b'{"account":"acc-1","amount_cents":10001}'))
    assert poor.outcome == pb.STEP_OUTCOME_FAILED and poor.error_code == "INSUFFICIENT_FUNDS"
    bad = execute(participant, step_call(saga_id="s2", payload=b"{oops"))
    assert bad.outcome == pb.STEP_OUTCOME_FAILED and bad.error_code == "INVALID_PAYLOAD"
    assert participant.balance() == 10000


def test_unknown_action_is_unimplemented(participant):
    with pytest.raises(grpc.RpcError) as err:
        execute(participant, step_call(action="teleport"))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "teleport" in err.value.details()


def test_error_fault_is_unavailable_then_succeeds(participant):
    meta = {"fault.execute": "error@1"}
    with pytest.raises(grpc.RpcError) as err:
        execute(participant, step_call(metadata=meta, attempt=1))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    assert execute(participant, step_call(metadata=meta, attempt=2)).outcome == (
        pb.STEP_OUTCOME_SUCCEEDED)
    assert participant.balance() == 9500


def test_check_transaction_answers_unknown(participant):
    answer = participant.stub.CheckTransaction(
        pb.CheckTransactionRequest(message_id="m-1", key="k", check=1), timeout=5)
    assert answer.status == pb.TRANSACTION_STATUS_UNKNOWN


def test_timed_out_execute_then_null_compensation_refuses_the_late_execute(participant):
    # The protocol's hanging scenario: the execute arrives "late" (sleep-before outlives the
    # call's timeout), the coordinator compensates meanwhile, the late execute is refused.
    call = step_call(saga_id="late", metadata={"fault.execute": "sleep-before=1500@1"})
    with pytest.raises(grpc.RpcError) as err:
        execute(participant, call, timeout=0.3)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    comp = compensate(participant, step_call(saga_id="late", action="refund"))
    assert comp.outcome == pb.STEP_OUTCOME_SUCCEEDED

    wait_until(lambda: "saga=late step=pay action=charge attempt=1 -> FAILED BARRIER_REJECTED"
               in participant.log(), what="the late execute to be refused")
    assert participant.balance() == 10000
    assert participant.payment_status("pay-late-pay") is None


def test_sigterm_lets_an_in_flight_call_finish(participant):
    # sleep-after: the charge is committed, then the answer is delayed. SIGTERM arrives in
    # that window; the call must still be answered and the process exit 0.
    future = participant.stub.Execute.future(
        pb.ExecuteRequest(call=step_call(saga_id="inflight",
                                         metadata={"fault.execute": "sleep-after=1500"})),
        timeout=10)
    wait_until(lambda: participant.payment_status("pay-inflight-pay") == "CHARGED",
               what="the charge to be committed")
    participant.proc.send_signal(signal.SIGTERM)

    assert future.result(timeout=10).result.outcome == pb.STEP_OUTCOME_SUCCEEDED
    assert participant.proc.wait(timeout=STOP_TIMEOUT_S) == 0, participant.log()
    assert "received SIGTERM" in participant.log()


def test_missing_db_env_exits_non_zero(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PARTICIPANT_DB"}
    proc = subprocess.run(
        [sys.executable, "-m", "payment_participant"], cwd=PARTICIPANT_DIR, env=env,
        capture_output=True, text=True, timeout=STOP_TIMEOUT_S)
    assert proc.returncode == 2
    assert proc.stdout == "" and "PARTICIPANT_DB" in proc.stderr
