#!/usr/bin/env bash
# Regenerates the Go stubs in participants/go/gen from proto/saga/v1/participant.proto.
# Run from anywhere. Needs Go and the repository's npm install (for buf).
set -euo pipefail
cd "$(dirname "$0")/.."

# Plugin versions are pinned so regeneration is reproducible.
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

TOOLS="$PWD/bin/tools"
mkdir -p "$TOOLS"
GOBIN="$TOOLS" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$TOOLS" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"

BUF=../../node_modules/.bin/buf
if [[ ! -x "$BUF" ]]; then
  echo "buf not found at $BUF: run 'npm install' at the repository root" >&2
  exit 1
fi

rm -rf gen
PATH="$TOOLS:$PATH" "$BUF" generate
