#!/usr/bin/env bash
# Sets up (idempotent) and runs the pytest suite. Extra arguments go to pytest.
# Exits non-zero on any failure, including "no tests collected" (pytest exit 5).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$HERE/scripts/setup.sh"

cd "$HERE"
set +e
"$HERE/.venv/bin/python" -m pytest -q "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; treating as failure" >&2
  exit 1
fi
exit "$rc"
