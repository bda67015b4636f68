#!/usr/bin/env bash
# Installs the npm dependencies on a fresh machine, exactly as package-lock.json
# lists them (`npm ci`: the lock is never rewritten, so a clone stays clean).
# sqlite3 and better-sqlite3 are compiled from source by node-gyp; npm is pointed at the headers
# that ship with this Node (no download of headers, which this network would
# refuse). All output goes to stderr: stdout is the coordinator's ready line.
# The first run takes several minutes (most of it compiling sqlite3); a line
# says what is going on at least every 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 1>&2
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir="$node_prefix"; fi
fi
stamp="node_modules/.install-stamp"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f node_modules/sqlite3/build/Release/node_sqlite3.node ] || [ ! -f node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  echo "== npm ci: installing the locked npm packages and compiling sqlite3 and better-sqlite3 from source (several minutes the first time)"
  # The lock holds every platform's optional packages, so `npm ci` accepts it
  # as in sync. (A lock written by `npm install` over an existing node_modules
  # can lose them; then every later install rewrites it. Regenerate it from a
  # tree without node_modules: rm -rf node_modules && npm install.)
  started=$SECONDS
  (
    while sleep 10; do
      newest="$(ls -t node_modules 2>/dev/null | head -1 || true)"
      echo "   … still installing after $((SECONDS - started)) s${newest:+ (latest: $newest)}"
    done
  ) &
  ticker=$!
  trap 'kill "$ticker" 2>/dev/null || true' EXIT
  # --foreground-scripts: sqlite3's compilation prints what it compiles as it goes.
  npm ci --no-audit --no-fund --foreground-scripts
  kill "$ticker" 2>/dev/null || true
  echo "== npm ci done in $((SECONDS - started)) s"
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi
