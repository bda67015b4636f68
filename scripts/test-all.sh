#!/usr/bin/env bash
# The one test command (`npm test`; CI runs it through .ci/run). On a fresh
# machine it installs what the tests need: nats-server, openssl, chromium and PostgreSQL
# (Debian packages), npm dependencies, the Python participant's virtualenv, the Go modules and
# grpcurl (pinned, built from its Go module). Then it builds, lints, runs the Python and Go
# participants' own tests, the container test (podman, runc, mmdebstrap from Debian;
# podman-compose from PyPI in a virtualenv: scripts/test-container.sh), and finally the whole
# vitest suite (unit, e2e, crash, conformance, events, console, PostgreSQL), whose summary line
# ends the output. Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  fi
}

echo "== nats-server"
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  apt_install nats-server
fi
( command -v nats-server || ls /usr/sbin/nats-server ) >/dev/null

echo "== PostgreSQL server binaries (the PostgreSQL store's tests start their own cluster)"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_install postgresql
ls /usr/lib/postgresql/*/bin/initdb >/dev/null

echo "== openssl (the transport tests make their TLS certificates with it)"
command -v openssl >/dev/null 2>&1 || apt_install openssl

echo "== grpcurl (pinned, from the Go module proxy; for the reflection test)"
GRPCURL_VERSION=v1.9.4
# A `go install`ed grpcurl reports no -version; its module version is in the binary.
if ! go version -m .tools/bin/grpcurl 2>/dev/null | grep -Eq "^\s+mod\s+github.com/fullstorydev/grpcurl\s+${GRPCURL_VERSION}\s"; then
  GOBIN="$PWD/.tools/bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
fi
echo "== chromium (the web console's browser tests drive Debian's chromium)"
if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
/usr/bin/chromium --version

echo "== npm dependencies"
bash scripts/install-deps.sh

echo "== contract: buf lint, generated TypeScript up to date"
bash proto/scripts/gen.sh
if ! git diff --quiet -- proto/src/gen 2>/dev/null; then
  echo "proto/src/gen is not what the .proto files generate: run npm run gen and commit" >&2
  exit 1
fi

echo "== build"
npx tsc -b tsconfig.build.json
echo "== web console assets (Vite)"
npm run build -w console

echo "== lint"
npx eslint .

echo "== Python participant (setup + pytest)"
bash participants/python/scripts/test.sh

echo "== Go participant (vet + go test + build)"
bash participants/go/scripts/test.sh
bash participants/go/scripts/build.sh

echo "== container image: build, run, SIGTERM, restart on its volume, compose (podman)"
bash scripts/test-container.sh

echo "== vitest"
npx vitest run
