"""Process lifecycle: initialise the database, serve gRPC, announce readiness on stdout,
stop gracefully on SIGTERM/SIGINT (PARTICIPANT-PROTOCOL.md, "Start-up")."""
from __future__ import annotations

import json
import logging
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

from . import database, payment, payment_hold
from .barrier import Barrier
from .tcc_barrier import TccBarrier
from .cleanup import PeriodicCleanup
from .config import Config, ConfigError, from_env
from .gateway import PaymentGateway
from .servicer import ParticipantServicer, TccParticipantServicer
from .signals import STOP_SIGNALS, block_stop_signals
from .step_runner import StepRunner
from .stubs import pb_grpc

log = logging.getLogger("payment_participant")

GRACE_S = 5.0
MAX_WORKERS = 16


def init_database(config: Config, barrier: Barrier) -> None:
    conn = database.open_database(config.db)
    try:
        barrier.create_schema(conn)
        payment.create_schema(conn)
        payment_hold.create_schema(conn)
        inserted = payment.seed(conn, config.seed)
        unknown = sorted(set(config.seed) - {"accounts"})
        if unknown:  # a harness may pass one seed to every participant
            log.info("ignoring seed keys this participant does not use: %s", ", ".join(unknown))
        log.info("database ready (%d seeded accounts inserted)", inserted)
    finally:
        conn.close()


def serve(config: Config) -> int:
    barrier = TccBarrier()
    init_database(config, barrier)
    gateway = PaymentGateway(config.gateway_path)
    gateway.create_schema()

    runner = StepRunner(
        db_path=config.db,
        execute_actions={payment.CHARGE: payment.charge},
        compensate_actions={payment.REFUND: payment.refund_through(gateway)},
        try_actions={payment_hold.HOLD: payment_hold.hold},
        confirm_actions={payment_hold.HOLD: payment_hold.capture},
        cancel_actions={payment_hold.HOLD: payment_hold.release},
        barrier=barrier,
    )
    executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="rpc")
    server = grpc.server(executor)
    pb_grpc.add_ParticipantServicer_to_server(ParticipantServicer(runner), server)
    pb_grpc.add_TccParticipantServicer_to_server(TccParticipantServicer(runner), server)
    port = server.add_insecure_port(config.bind_address)  # raises if it cannot bind
    server.start()

    cleanup = PeriodicCleanup(config.db, barrier)
    cleanup.start()

    bound = Config(db=config.db, host=config.host, port=port).bind_address
    # The one and only stdout line; the harness waits for it.
    sys.stdout.write(json.dumps({"listening": bound}, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    log.info("listening on %s (pid %d)", bound, os.getpid())

    received = signal.sigwait(STOP_SIGNALS)
    log.info("received %s: stopping (grace %.0f s)", signal.Signals(received).name, GRACE_S)
    server.stop(grace=GRACE_S).wait()  # refuse new calls, let in-flight ones finish
    runner.stopping.set()  # wake any fault sleep that outlived the grace period
    cleanup.stop()
    executor.shutdown(wait=True)
    log.info("stopped")
    return 0


def main() -> int:
    block_stop_signals()
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("PARTICIPANT_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s",
    )
    try:
        config = from_env()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    try:
        return serve(config)
    except payment.InvalidSeed as exc:
        log.error("invalid PARTICIPANT_SEED: %s", exc)
        return 2
