#!/usr/bin/env bash
# Runs the coordinator on the embedded default: a SQLite file in ./data, no NATS.
# Installs and builds first when needed. Extra arguments go to the coordinator
# (e.g. --config coordinator.json); environment variables are documented in README.md.
# Install and build output go to stderr: stdout carries only the coordinator's
# ready line (with `npm start --silent`, also without npm's banner).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
echo "== building (tsc)" >&2
npx tsc -b tsconfig.build.json >&2
exec node coordinator/dist/main.js "$@"
