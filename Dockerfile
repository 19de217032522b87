# syntax=docker/dockerfile:1.7
#
# One parameterised Dockerfile for the four apps and the migrations job (see docs/deployment.md):
#
#   docker build --build-arg APP=command-service --build-arg PORT=3000 --build-arg MANAGEMENT_PORT=9000 -t cqrs/command-service:local .
#   docker build --build-arg APP=query-service   --build-arg PORT=3001 --build-arg MANAGEMENT_PORT=9001 -t cqrs/query-service:local .
#   docker build --build-arg APP=projector       --build-arg PORT=3002 -t cqrs/projector:local .
#   docker build --build-arg APP=outbox-relay    --build-arg PORT=3003 -t cqrs/outbox-relay:local .
#   docker build --target migrations -t cqrs/migrations:local .
#   docker build --target console -t cqrs/console:local .
#
# The app image runs `node --enable-source-maps --import ./instrumentation.js main.js` in /app (under
# tini) as uid 1000 and writes nothing to its filesystem (read-only root works; the chart mounts /tmp).
# PORT is the app's port; the API apps (command-service, query-service) also serve health, metrics and
# docs on MANAGEMENT_PORT, apart from their API. The projector and the relay have one port, which the
# HEALTHCHECK probes (MANAGEMENT_PORT stays empty in their images).
# OpenTelemetry: instrumentation.js is the one the app's build emits beside main.js (the shared
# webpack config adds it), an empty module for an app without one; OTEL_SDK_DISABLED=true turns it off.
# tools/deploy's e2e test builds the same /app layout with the same script, runs the CMD and the
# HEALTHCHECK below as a non-root user on a read-only copy, since there's no Docker engine in CI.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---- the workspace with all dependencies (Nx, webpack, TypeScript, the migration CLIs) ----------
FROM ${NODE_IMAGE} AS workspace
WORKDIR /workspace
ENV NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE_CHECK=true NX_TUI=false CI=true
COPY package.json package-lock.json ./
# `npm ci`: exactly the lock file, as .ci/run installs it.
RUN --mount=type=cache,target=/root/.npm,sharing=locked npm ci --no-audit --no-fund --loglevel=error
COPY . .

# ---- an Nx build of one app, laid out as /app will hold it -----------------------------------
FROM workspace AS build
ARG APP
RUN case "${APP}" in command-service|query-service|projector|outbox-relay) ;; \
      *) echo "error: build with --build-arg APP=<command-service|query-service|projector|outbox-relay> (got '${APP}')" >&2; exit 1 ;; \
    esac
RUN npx nx run "${APP}:build" --skip-nx-cache --output-style=static \
 && sh tools/deploy/image/app-layout.sh files "dist/apps/${APP}" /out/app

# ---- the app's production dependencies only, at the monorepo lockfile's versions -------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY tools/deploy/image/app-layout.sh /usr/local/bin/app-layout.sh
COPY package-lock.json ./
COPY --from=build /out/app/package.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked sh /usr/local/bin/app-layout.sh deps /app

# ---- one-shot job: database migrations and schema registration (compose `migrations`, Helm hooks)
FROM workspace AS migrations
# npm writes its cache and logs under HOME: keep them in /tmp so a read-only root filesystem works.
ENV NODE_ENV=production HOME=/tmp NPM_CONFIG_CACHE=/tmp/.npm NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
USER 1000:1000
ENTRYPOINT ["sh", "tools/deploy/image/migrations.sh"]
CMD ["all"]

# ---- what every app image starts from -------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1 forwards SIGTERM to node and reaps; the package managers go (nothing installs at run time).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /opt/yarn-* \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg

# ---- the web console: its page and its small server (apps/console; node built-ins only) ---------
FROM workspace AS console-build
RUN npx nx run console:build --skip-nx-cache --output-style=static

FROM runtime AS console
LABEL org.opencontainers.image.title="console"
ENV NODE_ENV=production CONSOLE_PORT=4200 HOME=/tmp
WORKDIR /app
COPY --from=console-build /workspace/dist/apps/console ./
USER 1000:1000
EXPOSE 4200
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CONSOLE_PORT||4200)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "server.mjs"]

# ---- the app image (the default target) -------------------------------------------------------
FROM runtime AS app
ARG APP
ARG PORT
ARG MANAGEMENT_PORT
RUN test -n "${PORT}" || { echo "error: build with --build-arg PORT=<the app's port, e.g. 3000 for command-service>" >&2; exit 1; }
RUN case "${APP}:${MANAGEMENT_PORT}" in \
      command-service:|query-service:) echo "error: build ${APP} with --build-arg MANAGEMENT_PORT=<its health/metrics port, e.g. 9000 for command-service>" >&2; exit 1 ;; \
      projector:?*|outbox-relay:?*) echo "error: ${APP} has no management port (PORT serves its health and metrics): drop --build-arg MANAGEMENT_PORT" >&2; exit 1 ;; \
    esac
LABEL org.opencontainers.image.title="${APP}"
ENV NODE_ENV=production PORT=${PORT} MANAGEMENT_PORT=${MANAGEMENT_PORT} HOME=/tmp
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out/app ./
USER 1000:1000
# The API apps' management port, else PORT again (a port listed twice is exposed once).
EXPOSE ${PORT} ${MANAGEMENT_PORT:-${PORT}}
# /health/live on MANAGEMENT_PORT, or on PORT where that is empty.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--import", "./instrumentation.js", "main.js"]
