#!/usr/bin/env bash
# The container test (a step of scripts/test-all.sh). Builds the unchanged
# Dockerfile with podman, then checks the image as users run it:
#   1. a container on a volume, configured by env and a mounted config file,
#      with a participant on the host: a saga started from the host COMPLETES;
#      the HEALTHCHECK passes; the process is PID 1 and not root;
#   2. SIGTERM: exit 0 within the drain time, with a saga still in flight;
#   3. a new container on the same volume: the finished saga is still there and
#      the in-flight one resumes and completes;
#   4. compose.yaml up with podman-compose and its "postgres" profile: the demo
#      prints both outcomes, on the SQLite coordinator and on the PostgreSQL one
#      (whose sagas are then rows in PostgreSQL); down.
# Prints the image size, build time and start-to-ready time. Needs root or sudo
# (podman, Debian packages); see container/test/prepare-podman.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-${TMPDIR:-/tmp}/saga-container-test}
IMAGE=localhost/saga-coordinator:latest
EXAMPLES=localhost/saga-examples:latest
RUN=ct$$
T0=$(date +%s)
step() { echo "== [container test, $(( $(date +%s) - T0 )) s] $*"; }
fail() { echo "CONTAINER TEST FAILED: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }
mkdir -p "$WORK"

step "podman, runc, stand-in base images"
# shellcheck source=../container/test/prepare-podman.sh
source container/test/prepare-podman.sh

step "host side: the CLI and the example participants"
[ -f cli/dist/main.js ] && [ -f participants/ts/dist/main.js ] || npx tsc -b tsconfig.build.json
saga() { node "$ROOT/cli/dist/main.js" "$@"; }
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=process.argv[1].split(".").reduce((o,k)=>o?.[k],JSON.parse(s));console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

step "build the image (podman build --pull=never --format docker)"
b0=$(now_ms)
podman build --pull=never --format docker -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "podman build"; }
build_ms=$(( $(now_ms) - b0 ))
podman build --pull=never --format docker --target examples -t "$EXAMPLES" . >>"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "podman build --target examples"; }
size=$(podman image inspect -f '{{.Size}}' "$IMAGE")
echo "image $IMAGE: $(( size / 1000000 )) MB; build took ${build_ms} ms (cached layers are reused between runs)"

PIDS=(); CONTAINERS=(); VOLUME=saga-$RUN; PROJECT=saga-$RUN; COMPOSE=
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for c in "${CONTAINERS[@]}"; do podman rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
  [ -n "$COMPOSE" ] && (cd "$ROOT" && $COMPOSE -p "$PROJECT" down -v >/dev/null 2>&1) || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# A host participant: waits for its {"listening":…} line.
start_participant() { # service port seed
  local out="$WORK/$RUN-$1.out"
  PARTICIPANT_PORT=$2 PARTICIPANT_DB="$WORK/$RUN-$1.db" PARTICIPANT_SEED=$3 LOG_LEVEL=warn \
    node participants/ts/dist/main.js "$1" >"$out" 2>"$WORK/$RUN-$1.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q listening "$out" 2>/dev/null && return 0; sleep 0.1; done
  cat "$WORK/$RUN-$1.err" >&2; fail "participant $1 did not start"
}

GRPC_PORT=$(free_port); METRICS_PORT=$(free_port); CONSOLE_PORT=$(free_port); ORDERS_PORT=$(free_port); STOCK_PORT=$(free_port)
ADDR=127.0.0.1:$GRPC_PORT
DRAIN_MS=5000
# Participants come from a mounted config file; the rest from the environment.
cat >"$WORK/$RUN-coordinator.json" <<JSON
{ "participants": { "orders": { "address": "127.0.0.1:$ORDERS_PORT" }, "stock": { "address": "127.0.0.1:$STOCK_PORT" } } }
JSON
chmod 644 "$WORK/$RUN-coordinator.json"
podman volume create "$VOLUME" >/dev/null

run_coordinator() { # name
  CONTAINERS+=("$1")
  # No --init: the coordinator is PID 1 and must handle SIGTERM itself.
  podman run -d --name "$1" --network host -v "$VOLUME:/data" \
    -v "$WORK/$RUN-coordinator.json:/etc/saga/coordinator.json:ro" -e SAGA_CONFIG=/etc/saga/coordinator.json \
    -e SAGA_LISTEN=0.0.0.0:$GRPC_PORT -e SAGA_ADDRESS=$ADDR -e SAGA_METRICS_LISTEN=127.0.0.1:$METRICS_PORT -e SAGA_CONSOLE_LISTEN=127.0.0.1:$CONSOLE_PORT \
    -e SAGA_DRAIN_TIMEOUT_MS=$DRAIN_MS -e SAGA_LOG_LEVEL=warn "$IMAGE" >/dev/null
}

stop_coordinator() { # name: SIGTERM, then exit 0 within the drain time
  local t0; t0=$(now_ms)
  podman stop -t 60 "$1" >/dev/null
  local took=$(( $(now_ms) - t0 )) code; code=$(podman inspect -f '{{.State.ExitCode}}' "$1")
  echo "$1: SIGTERM -> exit $code after $took ms (drain time $DRAIN_MS ms)"
  [ "$code" = 0 ] || { podman logs "$1" 2>&1 | tail -20; fail "$1 exited $code after SIGTERM, not 0"; }
  [ "$took" -le $(( DRAIN_MS + 2000 )) ] || fail "$1 took $took ms to stop, more than the drain time"
}

step "1. container on a volume, participant on the host"
start_participant orders "$ORDERS_PORT" '{}'
r0=$(now_ms)
run_coordinator "saga-$RUN-1"
saga --address "$ADDR" health --wait 60000 >/dev/null || { podman logs "saga-$RUN-1" 2>&1 | tail -20; fail "coordinator not SERVING"; }
echo "start-to-ready: $(( $(now_ms) - r0 )) ms (podman run -> health SERVING)"
podman healthcheck run "saga-$RUN-1" || fail "HEALTHCHECK failed"
uid=$(podman exec "saga-$RUN-1" id -u); [ "$uid" != 0 ] || fail "the coordinator runs as root"
pid1=$(podman exec "saga-$RUN-1" cat /proc/1/cmdline | tr '\0' ' ')
case "$pid1" in node*coordinator/dist/main.js*) ;; *) fail "PID 1 is '$pid1', not the coordinator";; esac
# Bodies are read whole before grep -q: an early grep exit would fail curl's write (pipefail).
page=$(curl -fsS --max-time 10 "http://127.0.0.1:$CONSOLE_PORT/") && grep -qi '<!doctype html' <<<"$page" || fail "the image's web console does not answer on its port"
podman exec "saga-$RUN-1" sh -c 'grep -q "^Uid:[[:space:]]*1000" /proc/1/status' || fail "PID 1 is not uid 1000"
echo "process: uid $uid, PID 1 = $pid1"

cat >"$WORK/$RUN-ok.json" <<'JSON'
{ "name": "container-check", "steps": [ { "name": "create-order", "participant": "orders", "action": "create", "compensateAction": "cancel", "payload": { "userId": "u1" } } ] }
JSON
outcome=$(saga --address "$ADDR" --json start --file "$WORK/$RUN-ok.json" --saga-id "$RUN-ok" --wait 30000 | json_field outcome)
[ "$outcome" = COMPLETED ] || fail "saga $RUN-ok: $outcome, not COMPLETED"
echo "saga $RUN-ok: $outcome"
metrics=$(curl -fsS --max-time 10 "http://127.0.0.1:$METRICS_PORT/metrics") && grep -q '^saga_sagas_finished_total' <<<"$metrics" || fail "no metrics on $METRICS_PORT"

step "2. SIGTERM with a saga in flight (its stock participant is not up yet)"
cat >"$WORK/$RUN-inflight.json" <<'JSON'
{ "name": "container-resume", "steps": [
  { "name": "create-order", "participant": "orders", "action": "create", "compensateAction": "cancel", "payload": { "userId": "u2" } },
  { "name": "reserve-stock", "participant": "stock", "action": "deduct", "compensateAction": "restore", "payload": { "sku": "sku-1", "quantity": 1 },
    "retry": { "maxAttempts": 1000, "initialBackoffMs": 200, "maxBackoffMs": 500, "attemptTimeoutMs": 2000 } } ] }
JSON
saga --address "$ADDR" start --file "$WORK/$RUN-inflight.json" --saga-id "$RUN-inflight" >/dev/null
for _ in $(seq 1 100); do
  attempts=$(saga --address "$ADDR" --json get "$RUN-inflight" | json_field steps.1.attempts.length)
  [ "${attempts:-0}" -ge 1 ] && break; sleep 0.2
done
[ "${attempts:-0}" -ge 1 ] || fail "the in-flight saga never tried reserve-stock"
state=$(saga --address "$ADDR" --json get "$RUN-inflight" | json_field state)
[ "$state" = RUNNING ] || fail "the in-flight saga is $state before the restart, not RUNNING"
stop_coordinator "saga-$RUN-1"

step "3. a new container on the same volume"
start_participant stock "$STOCK_PORT" '{"stock":{"sku-1":10}}'
run_coordinator "saga-$RUN-2"
saga --address "$ADDR" health --wait 60000 >/dev/null || { podman logs "saga-$RUN-2" 2>&1 | tail -20; fail "second coordinator not SERVING"; }
state=$(saga --address "$ADDR" --json get "$RUN-ok" | json_field state)
[ "$state" = COMPLETED ] || fail "saga $RUN-ok is $state after the restart, not COMPLETED"
final=$(timeout 60 node "$ROOT/cli/dist/main.js" --address "$ADDR" --json watch "$RUN-inflight" | tail -n 1 | json_field state)
[ "$final" = COMPLETED ] || fail "the in-flight saga ended $final after the restart, not COMPLETED"
echo "after the restart: $RUN-ok still COMPLETED, $RUN-inflight resumed -> $final"
stop_coordinator "saga-$RUN-2"

step "4. compose.yaml with podman-compose, profile postgres"
if [ ! -x "$WORK/venv/bin/podman-compose" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q podman-compose
fi
COMPOSE="$WORK/venv/bin/podman-compose"
export SAGA_PORT=$(free_port) SAGA_METRICS_PORT=$(free_port) SAGA_CONSOLE_PORT=$(free_port)
export SAGA_POSTGRES_PORT=$(free_port) SAGA_POSTGRES_METRICS_PORT=$(free_port) SAGA_POSTGRES_CONSOLE_PORT=$(free_port)
COMPOSE="$COMPOSE --profile postgres"
$COMPOSE -p "$PROJECT" up -d >"$WORK/$RUN-compose.log" 2>&1 || { tail -30 "$WORK/$RUN-compose.log"; fail "podman-compose up"; }
container_of() { podman ps -a --filter "label=io.podman.compose.project=$PROJECT" --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n 1; }
# A failed demo check also shows the coordinator's own view (the demo only shows the client's).
demo_fail() { # service saga-id-prefix coordinator-service message
  podman logs "$(container_of "$3")" 2>&1 | tail -40
  fail "$1: $4"
}
check_demo() { # service saga-id-prefix coordinator-service
  local demo; demo=$(container_of "$1")
  [ -n "$demo" ] || fail "no $1 container"
  timeout 240 podman wait "$demo" >/dev/null || fail "$1 did not end"
  podman logs "$demo" >"$WORK/$RUN-$1.out" 2>&1
  cat "$WORK/$RUN-$1.out"
  grep -Eq "^saga $2-[0-9]+-1: COMPLETED" "$WORK/$RUN-$1.out" || demo_fail "$@" "the first order did not complete"
  grep -Eq "^saga $2-[0-9]+-2: COMPENSATED" "$WORK/$RUN-$1.out" || demo_fail "$@" "the second order was not compensated"
  grep -Eq 'COMPENSATE +1 .*SUCCEEDED' "$WORK/$RUN-$1.out" || demo_fail "$@" "the timeline shows no compensation"
}
check_demo demo demo coordinator
check_demo demo-postgres demo-pg coordinator-postgres
# The PostgreSQL coordinator's sagas are rows in PostgreSQL, not in a SQLite file.
pg_sagas=$(podman exec "$(container_of postgres)" psql -U saga -d saga -tAc "SELECT count(*) FROM sagas WHERE id LIKE 'demo-pg-%'")
[ "$pg_sagas" = 2 ] || fail "PostgreSQL holds $pg_sagas demo sagas, not 2"
echo "profile postgres: both demo sagas are rows of PostgreSQL's sagas table"
$COMPOSE -p "$PROJECT" down -v >>"$WORK/$RUN-compose.log" 2>&1 || fail "podman-compose down"
COMPOSE=
step "container test passed"
