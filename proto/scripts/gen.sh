#!/usr/bin/env bash
# Regenerates the TypeScript code in proto/src/gen from proto/saga/v1/*.proto
# and lints the contract. Run from anywhere: `npm run gen`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=../node_modules/.bin/buf
"$BUF" lint
# The contract may grow but not break: checked against the image of the last
# release (proto/release/last-release.binpb, rebuilt at each release with
# `npm run proto:release`).
"$BUF" breaking --against release/last-release.binpb
rm -rf src/gen
"$BUF" generate
# The file descriptors server reflection serves, as buf compiles them (with
# google/protobuf/timestamp.proto and real dependency lists), plus the standard
# health service's. Two FileDescriptorSets concatenated are one set.
HEALTH_PROTO=$(node -p "require('node:path').join(require('node:path').dirname(require.resolve('grpc-health-check/package.json')), 'proto')")
"$BUF" build -o src/gen/saga-v1.binpb
"$BUF" build "$HEALTH_PROTO" -o src/gen/health-v1.binpb
cat src/gen/saga-v1.binpb src/gen/health-v1.binpb > src/gen/descriptor-set.binpb
rm src/gen/saga-v1.binpb src/gen/health-v1.binpb
