# The saga coordinator image. `docker build .` (or `podman build .`) builds it;
# `--target examples` builds the order-scenario participants and the demo that
# compose.yaml runs. README.md, section "Container", documents its use.

# ---- build: compile the SQLite bindings and the TypeScript, then keep production deps only
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp builds better-sqlite3 (the coordinator's) and sqlite3 (the SDK's)
# against this image's own Node headers: no header download.
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false
COPY package.json package-lock.json .npmrc ./
COPY proto/package.json proto/
COPY sdk/package.json sdk/
COPY coordinator/package.json coordinator/
COPY cli/package.json cli/
COPY console/package.json console/
COPY participants/ts/package.json participants/ts/
COPY test/package.json test/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY proto proto
COPY sdk sdk
COPY coordinator coordinator
COPY cli cli
COPY console console
COPY participants/ts participants/ts
RUN npx tsc -b coordinator cli participants/ts \
 && npm run build -w console \
 && npm prune --omit=dev --no-audit --no-fund \
 # the bindings' objects and sources are not needed once their .node files are linked.
 && rm -rf node_modules/sqlite3/build/Release/obj.target node_modules/sqlite3/build/Release/.deps node_modules/sqlite3/deps node_modules/sqlite3/src \
 && rm -rf node_modules/better-sqlite3/build/Release/obj.target node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/.deps node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
 && mkdir -p /out/app /out/examples \
 && cp -a package.json node_modules /out/app/ \
 && for p in proto sdk coordinator cli; do mkdir -p /out/app/$p && cp -a $p/package.json $p/dist /out/app/$p/; done \
 && cp -a proto/saga proto/proto-dir.cjs /out/app/proto/ \
 && mkdir -p /out/app/proto/src/gen && cp -a proto/src/gen/descriptor-set.binpb /out/app/proto/src/gen/ \
 && mkdir -p /out/app/console && cp -a console/dist /out/app/console/ \
 && mkdir -p /out/examples/participants/ts && cp -a participants/ts/package.json participants/ts/dist /out/examples/participants/ts/ \
 && chmod +x /out/app/cli/dist/main.js

# ---- runtime-base: Node and the production files, no compiler
FROM node:20-bookworm-slim AS runtime-base
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/app/ /app/
RUN ln -s /app/cli/dist/main.js /usr/local/bin/saga \
 && mkdir -p /data && chown node:node /data

# ---- examples: the four order-scenario participants and the demo (compose.yaml)
FROM runtime-base AS examples
COPY --from=build /out/examples/ /app/
COPY container/demo /app/container/demo
USER node
ENV PARTICIPANT_HOST=0.0.0.0
CMD ["node", "/app/participants/ts/dist/main.js"]

# ---- the coordinator (default target)
FROM runtime-base
# Everything else is configured by SAGA_* variables, or a JSON file named by
# SAGA_CONFIG (e.g. mounted at /etc/saga/coordinator.json).
ENV SAGA_LISTEN=0.0.0.0:50051 \
    SAGA_DB=/data/saga-coordinator.db \
    SAGA_METRICS_LISTEN=0.0.0.0:9464 \
    SAGA_CONSOLE_LISTEN=0.0.0.0:8080 \
    SAGA_ADDRESS=127.0.0.1:50051
USER node
VOLUME ["/data"]
# 50051 gRPC (saga API, health, reflection); 9464 Prometheus metrics at /metrics; 8080 the web console.
EXPOSE 50051 9464 8080
# The coordinator handles SIGTERM itself (drain, flush, exit 0), also as PID 1.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=10s --start-period=60s --retries=3 CMD ["node", "/app/cli/dist/health-probe.js"]
ENTRYPOINT ["node", "/app/coordinator/dist/main.js"]
