#!/usr/bin/env bash
# Tests the Go participant: module download, gofmt, go vet, go test.
# Run from anywhere; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== go mod download"
go mod download

echo "== gofmt"
unformatted="$(gofmt -l .)"
if [[ -n "$unformatted" ]]; then
  echo "gofmt: these files need formatting:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
# -count=1: always run (the end-to-end tests start the real binary).
go test -count=1 ./... "$@"
