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
