"""The saga.v1.Participant and saga.v1.TccParticipant gRPC services: map RPCs onto the
StepRunner and results onto protobuf, and turn errors into gRPC statuses (all transient for
the coordinator)."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, NoReturn

import grpc

from .barrier import BarrierAnswer
from .deadline import Deadline
from .errors import CallAborted
from .result import Result
from .step_runner import StepRunner
from .stubs import pb, pb_grpc

log = logging.getLogger("payment_participant.rpc")

# The operations whose barrier decides per compensation epoch (StepCall.compensation_epoch).
EPOCH_OPS = frozenset({"compensate", "confirm", "cancel"})


def to_proto(result: Result) -> Any:
    if result.succeeded:
        return pb.StepResult(outcome=pb.STEP_OUTCOME_SUCCEEDED, output=result.output)
    return pb.StepResult(
        outcome=pb.STEP_OUTCOME_FAILED,
        error_code=result.error_code,
        error_message=result.error_message,
    )


class ParticipantServicer(pb_grpc.ParticipantServicer):
    def __init__(self, runner: StepRunner) -> None:
        self._runner = runner

    def Execute(self, request: Any, context: grpc.ServicerContext) -> Any:
        result = _call("execute", self._runner.execute, request.call, context)
        return pb.ExecuteResponse(result=result)

    def Compensate(self, request: Any, context: grpc.ServicerContext) -> Any:
        result = _call("compensate", self._runner.compensate, request.call, context)
        return pb.CompensateResponse(result=result)

    def CheckTransaction(self, request: Any, context: grpc.ServicerContext) -> Any:
        # The payment participant never produces transactional messages, so it has no local
        # transaction to look up. UNKNOWN ("check again later") is the only honest answer.
        log.info("check_transaction message_id=%s check=%d -> UNKNOWN",
                 request.message_id, request.check)
        return pb.CheckTransactionResponse(status=pb.TRANSACTION_STATUS_UNKNOWN)



class TccParticipantServicer(pb_grpc.TccParticipantServicer):
    """TCC branches: Try, Confirm, Cancel through the runner's TCC barrier."""

    def __init__(self, runner: StepRunner) -> None:
        self._runner = runner

    def Try(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.TryResponse(result=_call("try", self._runner.try_, request.call, context))

    def Confirm(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ConfirmResponse(result=_call("confirm", self._runner.confirm, request.call, context))

    def Cancel(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.CancelResponse(result=_call("cancel", self._runner.cancel, request.call, context))


def _call(
    op: str,
    run: Callable[[Any, Deadline], BarrierAnswer],
    call: Any,
    context: grpc.ServicerContext,
) -> Any:
    started = time.monotonic()
    # Identifiers only: payloads and outputs may hold business data and stay out of logs.
    epoch = f" epoch={call.compensation_epoch}" if op in EPOCH_OPS else ""
    where = (f"{op} saga={call.saga_id} step={call.step_name} action={call.action}{epoch}"
             f" attempt={call.attempt}")
    try:
        answer = run(call, Deadline.for_call(call, context))
    except CallAborted as exc:
        log.info("%s -> gRPC %s: %s", where, exc.code.name, exc.details)
        _abort(context, exc.code, exc.details)
    except Exception:
        log.exception("%s -> gRPC INTERNAL (unexpected error)", where)
        _abort(context, grpc.StatusCode.INTERNAL, "internal error in participant; see its log")
    result = answer.result
    log.info("%s -> %s%s via %s in %.1f ms", where,
             "SUCCEEDED" if result.succeeded else "FAILED",
             "" if result.succeeded else f" {result.error_code}",
             answer.path, (time.monotonic() - started) * 1000)
    return to_proto(result)


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> NoReturn:
    context.abort(code, details)
    raise AssertionError("unreachable: context.abort raises")
