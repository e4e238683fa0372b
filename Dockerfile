# Sesame in a container: the published server package installed for production, run as a
# non-root user. docs/DEPLOY.md describes how to run it; compose.yaml runs it with PostgreSQL and
# a mail catcher. packages/server/test/production-install.e2e.test.ts reads this file and performs
# its steps outside a container (no container engine runs in CI), so keep the two in step.
#
#   docker build -t sesame .
#   docker run -p 8080:8080 -e SESAME_SECRET=… -e SESAME_SMTP_URL=… -v sesame-data:/data sesame
#   docker run --rm -e SESAME_SECRET=… -e SESAME_DATABASE_URL=… sesame clients create --name app …

# Build stage: the workspace from its lock file, built and packed the way it is published, then
# the server tarball installed without devDependencies into /app. The install happens here
# because better-sqlite3 compiles SQLite when no prebuilt binary exists for the platform, and the
# compilers must not reach the runtime image.
FROM node:22-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund
RUN npm run build
RUN node scripts/pack.mjs --out /pack
WORKDIR /app
RUN npm init -y >/dev/null \
  && npm install --omit=dev --no-audit --no-fund /pack/sesame-server-*.tgz \
  && npm cache clean --force

# Runtime stage: Node and the installed server, nothing else.
FROM node:22-bookworm-slim
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8080 \
  SESAME_DATA_DIR=/data
# Owned by root and read-only for the server: it cannot rewrite its own code.
COPY --from=build /app /app
# The data directory (the SQLite database when no SESAME_DATABASE_URL is given) belongs to the
# unprivileged user the server runs as (`node`, uid 1000, from the base image).
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
WORKDIR /app
# Numeric (the base image's `node` user): Kubernetes' runAsNonRoot cannot check a user name.
USER 1000:1000
EXPOSE 8080
# No curl in the slim image: Node's fetch asks /readyz (the store answers) on the container's PORT.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/readyz').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful shutdown (SESAME_SHUTDOWN_TIMEOUT_MS). Node is PID 1, not npm or a
# shell, so the signal reaches it; the flags are bin/node-flags.mjs's SERVER_NODE_FLAGS.
STOPSIGNAL SIGTERM
# The image is the `sesame` command: `docker run IMAGE clients create …` or `migrate` run other
# commands in place of `start`.
ENTRYPOINT ["node", "--max-semi-space-size=32", "/app/node_modules/@sesame/server/bin/sesame.js"]
CMD ["start"]
