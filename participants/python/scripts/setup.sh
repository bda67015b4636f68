#!/usr/bin/env bash
# Idempotent setup: creates .venv if missing, installs pinned requirements, generates stubs.
# Safe to run repeatedly and on a fresh clone. Override the interpreter with PYTHON=python3.11.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$HERE/.venv"
BASE_PY="${PYTHON:-python3}"

if ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  if ! "$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
    echo "setup.sh: $BASE_PY is older than Python 3.10 (3.11 recommended)" >&2
    exit 1
  fi
  rm -rf "$VENV"  # a half-created venv from an interrupted run
  "$BASE_PY" -m venv "$VENV"
fi

# Re-install only when requirements.txt changed since the last successful install.
STAMP="$VENV/.requirements.sha256"
WANT="$("$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$HERE/requirements.txt")"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$HERE/requirements.txt"
  echo "$WANT" > "$STAMP"
fi

PYTHON="$VENV/bin/python" bash "$HERE/scripts/gen.sh"
