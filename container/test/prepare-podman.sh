# Sourced by scripts/test-container.sh: makes podman usable on a CI machine
# with no Docker engine and no image registry, and builds the stand-in base
# images the test needs. Needs root (or sudo), Debian 12 and Debian's mirror.
#
# - installs podman, runc and mmdebstrap from Debian when missing;
# - crun fails on hybrid cgroup layouts and podman's default rlimits exceed
#   what an unprivileged VM grants: a containers.conf picks runc and limits
#   within the hard limits (exported as CONTAINERS_CONF);
# - no base image can be pulled: localhost/ci-debian:bookworm is debootstrapped
#   from Debian's packages, and two stand-ins are tagged with the names the
#   Dockerfile and compose.yaml use: node:20-bookworm-slim (this machine's
#   Node 20 copied in, a `node` user with uid 1000), nats:2.10 (this
#   machine's nats-server) and postgres:15-bookworm (Debian's postgresql-15,
#   container/test/postgres-stand-in). They exist for the test only; a user
#   builds on the real images.
#
# Inputs: WORK (scratch dir). Sets: CONTAINERS_CONF.

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v mmdebstrap >/dev/null; then
  echo "-- installing podman runc mmdebstrap (Debian)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null 2>&1 ||
    { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc mmdebstrap >/dev/null; }
fi

hn=$(ulimit -Hn); hu=$(ulimit -Hu); [ "$hu" = unlimited ] && hu=32768; [ "$hu" -gt 32768 ] && hu=32768
mkdir -p "$WORK"
cat > "$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$WORK/containers.conf"

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

if ! podman image exists localhost/ci-debian:bookworm; then
  echo "-- base image localhost/ci-debian:bookworm (mmdebstrap)"
  mmdebstrap --quiet --variant=minbase bookworm - "$mirror" | podman import --change 'CMD ["bash"]' - localhost/ci-debian:bookworm >/dev/null
fi

if ! podman image exists docker.io/library/node:20-bookworm-slim; then
  echo "-- stand-in docker.io/library/node:20-bookworm-slim (this machine's Node 20)"
  ctx="$WORK/node-base"; rm -rf "$ctx"; mkdir -p "$ctx/p/bin" "$ctx/p/lib" "$ctx/p/include"
  node_bin=$(readlink -f "$(command -v node)"); node_prefix=$(dirname "$(dirname "$node_bin")")
  "$node_bin" -e 'process.exit(process.versions.node.split(".")[0]==="20"?0:1)' || { echo "this machine's node is not 20" >&2; return 1; }
  cp -a "$node_bin" "$ctx/p/bin/node"
  cp -a "$(npm root -g)" "$ctx/p/lib/node_modules"
  [ -d "$node_prefix/include/node" ] && cp -a "$node_prefix/include/node" "$ctx/p/include/"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/p/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/p/bin/npx"
  # Downloads here may pass a TLS-intercepting proxy: the stand-in trusts this machine's CA bundle.
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-bundle.crt"
  cp /etc/apt/sources.list.d/debian.sources "$ctx/debian.sources"
  printf '#!/bin/sh\nset -e\nif [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ]; then set -- node "$@"; fi\nexec "$@"\n' > "$ctx/docker-entrypoint.sh"
  chmod +x "$ctx/docker-entrypoint.sh"
  cat > "$ctx/Containerfile" <<CF
FROM localhost/ci-debian:bookworm
COPY p/ /usr/local/
COPY docker-entrypoint.sh /usr/local/bin/
COPY ca-bundle.crt /usr/local/share/ci-ca-bundle.crt
COPY debian.sources /etc/apt/sources.list.d/debian.sources
RUN rm -f /etc/apt/sources.list && groupadd --gid 1000 node \\
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node && node --version && npm --version
ENV NODE_VERSION=$("$node_bin" -p process.versions.node) NODE_EXTRA_CA_CERTS=/usr/local/share/ci-ca-bundle.crt npm_config_cafile=/usr/local/share/ci-ca-bundle.crt
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
CF
  podman build -q --pull=never -t docker.io/library/node:20-bookworm-slim "$ctx" >/dev/null
fi

if ! podman image exists docker.io/library/nats:2.10; then
  echo "-- stand-in docker.io/library/nats:2.10 (this machine's nats-server)"
  ctx="$WORK/nats-base"; rm -rf "$ctx"; mkdir -p "$ctx"
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  cp "$nats_bin" "$ctx/nats-server"
  # The official image's entrypoint is the server itself, with its arguments from CMD.
  printf 'FROM localhost/ci-debian:bookworm\nCOPY nats-server /nats-server\nEXPOSE 4222 8222\nENTRYPOINT ["/nats-server"]\nCMD ["-js"]\n' > "$ctx/Containerfile"
  podman build -q --pull=never -t docker.io/library/nats:2.10 "$ctx" >/dev/null
fi

if ! podman image exists docker.io/library/postgres:15-bookworm; then
  echo "-- stand-in docker.io/library/postgres:15-bookworm (Debian's postgresql-15)"
  if ! podman image exists localhost/ci-postgres-rootfs:bookworm; then
    # Debian's package makes a cluster of its own on install: not needed, PGDATA is the volume.
    mmdebstrap --quiet --variant=minbase --include=postgresql-15 \
      --customize-hook='rm -rf "$1/var/lib/postgresql/15/main" "$1/etc/postgresql/15/main"' bookworm - "$mirror" |
      podman import -q - localhost/ci-postgres-rootfs:bookworm >/dev/null
  fi
  podman build -q --pull=never -t docker.io/library/postgres:15-bookworm container/test/postgres-stand-in >/dev/null
fi
