"""A saga.v1.Participant grpcio server for the coordinator's transport tests (test/src/transport).

It answers from the StepCall's action instead of running a business; its HTTP/2
behaviour is set by the same environment as the grpc-go one
(participants/go/cmd/transport-test-server):

    TT_HOST, TT_PORT          address to bind (default 127.0.0.1:0)
    TT_TLS_CERT, TT_TLS_KEY   serve TLS with this certificate (PEM files)
    TT_TLS_CLIENT_CA          with TLS: require client certificates signed by this CA
    TT_MIN_PING_MS            reject pings more frequent than this (2 strikes allowed)
    TT_MAX_STREAMS            max concurrent streams per connection
    TT_MAX_CONNECTION_AGE_MS  GOAWAY connections this old (grace 30 s)

Actions: "echo" answers SUCCEEDED with {"peer":...,"metadata":{...}} as output;
"hold" answers only when the call is cancelled; "slow:N" echoes after N ms.
Prints {"listening":"HOST:PORT"} on stdout when ready; SIGTERM stops it.
Run with the participant's venv: .venv/bin/python scripts/transport_test_server.py
"""

import json
import os
import signal
import sys
import threading
from concurrent import futures
from pathlib import Path

import grpc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gen"))
from saga.v1 import participant_pb2, participant_pb2_grpc  # noqa: E402


def _answer(call, context):
    action = call.action
    if action == "hold":
        done = threading.Event()
        context.add_callback(done.set)
        done.wait()
        context.abort(grpc.StatusCode.CANCELLED, "cancelled")
    if action.startswith("slow:"):
        done = threading.Event()
        context.add_callback(done.set)
        if done.wait(int(action[5:]) / 1000):
            context.abort(grpc.StatusCode.CANCELLED, "cancelled")
    elif action != "echo":
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f'action "{action}" is not echo, hold or slow:N')
    metadata = {}
    for key, value in context.invocation_metadata():
        metadata[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    peer = context.peer()  # "ipv4:127.0.0.1:PORT"
    echo = {"peer": peer.split(":", 1)[1] if ":" in peer else peer, "metadata": metadata}
    return participant_pb2.StepResult(
        outcome=participant_pb2.STEP_OUTCOME_SUCCEEDED, output=json.dumps(echo).encode()
    )


class Participant(participant_pb2_grpc.ParticipantServicer):
    def Execute(self, request, context):
        return participant_pb2.ExecuteResponse(result=_answer(request.call, context))

    def Compensate(self, request, context):
        return participant_pb2.CompensateResponse(result=_answer(request.call, context))


def _options():
    options = []
    if os.environ.get("TT_MIN_PING_MS"):
        ms = int(os.environ["TT_MIN_PING_MS"])
        options += [
            ("grpc.http2.min_ping_interval_without_data_ms", ms),
            ("grpc.http2.min_recv_ping_interval_without_data_ms", ms),
            ("grpc.http2.max_ping_strikes", 2),
        ]
    if os.environ.get("TT_MAX_STREAMS"):
        options.append(("grpc.max_concurrent_streams", int(os.environ["TT_MAX_STREAMS"])))
    if os.environ.get("TT_MAX_CONNECTION_AGE_MS"):
        options += [
            ("grpc.max_connection_age_ms", int(os.environ["TT_MAX_CONNECTION_AGE_MS"])),
            ("grpc.max_connection_age_grace_ms", 30_000),
        ]
    return options


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=_options())
    participant_pb2_grpc.add_ParticipantServicer_to_server(Participant(), server)
    address = f"{os.environ.get('TT_HOST', '127.0.0.1')}:{os.environ.get('TT_PORT', '0')}"
    if os.environ.get("TT_TLS_CERT"):
        key = Path(os.environ["TT_TLS_KEY"]).read_bytes()
        cert = Path(os.environ["TT_TLS_CERT"]).read_bytes()
        ca_file = os.environ.get("TT_TLS_CLIENT_CA")
        credentials = grpc.ssl_server_credentials(
            [(key, cert)],
            root_certificates=Path(ca_file).read_bytes() if ca_file else None,
            require_client_auth=bool(ca_file),
        )
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    print(json.dumps({"listening": f"{address.rsplit(':', 1)[0]}:{port}"}), flush=True)
    stopped.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
