#!/usr/bin/env bash
# Regenerates the TypeScript code in proto/src/gen from proto/saga/v1/*.proto
# and lints the contract. Run from anywhere: `npm run gen`.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=../node_modules/.bin/buf
"$BUF" lint
rm -rf src/gen
"$BUF" generate
