#!/usr/bin/env bash
# Generates the Python stubs for saga.v1.Participant into participants/python/gen/.
# gen/ is gitignored: run this (or setup.sh) after every clone or proto change.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_ROOT="$(cd "$HERE/../../proto" && pwd)"
PY="${PYTHON:-$HERE/.venv/bin/python}"
OUT="$HERE/gen"

if ! "$PY" -c 'import grpc_tools.protoc' 2>/dev/null; then
  echo "gen.sh: grpc_tools not importable with $PY; run scripts/setup.sh first" >&2
  exit 1
fi

# grpc_tools ships the well-known types (google/protobuf/timestamp.proto) in its _proto dir.
WKT="$("$PY" -c 'import os, grpc_tools; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"

# Generate into a temp dir and swap, so an interrupted run never leaves half a gen/ behind.
TMP="$(mktemp -d "$HERE/.gen.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

"$PY" -m grpc_tools.protoc \
  -I "$PROTO_ROOT" \
  -I "$WKT" \
  --python_out="$TMP" \
  --pyi_out="$TMP" \
  --grpc_python_out="$TMP" \
  "$PROTO_ROOT/saga/v1/participant.proto"

# The stubs import each other as `from saga.v1 import ...`; regular packages (not namespace
# packages) make that resolve to gen/ even if some other `saga` is installed.
touch "$TMP/saga/__init__.py" "$TMP/saga/v1/__init__.py"

rm -rf "$OUT"
mv "$TMP" "$OUT"
trap - EXIT
echo "gen.sh: stubs written to ${OUT#"$PWD"/}" >&2
