#!/usr/bin/env bash
# Runs the coordinator on the embedded default: a SQLite file in ./data, no NATS.
# Installs and builds first when needed. Extra arguments go to the coordinator
# (e.g. --config coordinator.json); environment variables are documented in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npx tsc -b tsconfig.build.json
exec node coordinator/dist/main.js "$@"
