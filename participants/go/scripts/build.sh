#!/usr/bin/env bash
# Builds the stock participant to participants/go/bin/stock-participant, and
# the benchmark's no-op participant to participants/go/bin/bench-participant.
# Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
CGO_ENABLED=0 go build -trimpath -o bin/stock-participant ./cmd/stock-participant
echo "built $(pwd)/bin/stock-participant"
CGO_ENABLED=0 go build -trimpath -o bin/bench-participant ./cmd/bench-participant
echo "built $(pwd)/bin/bench-participant"
