#!/usr/bin/env bash
# Installs the npm dependencies on a fresh machine. sqlite3 is compiled from
# source by node-gyp; npm is pointed at the headers that ship with this Node
# (no download of headers, which this network would refuse).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir="$node_prefix"; fi
fi
stamp="node_modules/.install-stamp"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -f node_modules/sqlite3/build/Release/node_sqlite3.node ]; then
  echo "== npm install (builds sqlite3 from source; takes a minute or two)"
  # Not `npm ci`: with omit-lockfile-registry-resolved (set on these machines)
  # npm leaves other platforms' optional packages out of the lock, and `npm ci`
  # then refuses the lock as out of sync. `npm install` follows the lock.
  npm install --no-audit --no-fund
  # npm install may rewrite the lock; stamp what is there now.
  sha256sum package-lock.json | cut -d' ' -f1 > "$stamp"
fi
