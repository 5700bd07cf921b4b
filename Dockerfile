# Roster's container image (docs/operations.md). Multi-stage: the console stage builds the admin
# console with the development dependencies; the build stage installs the production
# dependencies (compiling the SQLite module when no prebuilt one can be downloaded), builds
# dist/ and takes the built console; the runtime image holds only that, runs as the unprivileged `node` user, and
# works with a read-only root filesystem: it writes only to the /data volume.
#   docker build -t roster .
#   docker run --read-only -v roster-data:/data -p 8080:8080 -e ROSTER_PUBLIC_URL=https://roster.example.com roster
# The admin console (React, built with Vite, a development dependency): only its built files go on.
FROM node:20-bookworm-slim AS console
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild esbuild
COPY console ./console
COPY src/client ./src/client
COPY scripts/build-console.mjs ./scripts/build-console.mjs
RUN node scripts/build-console.mjs

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 esbuild
COPY bin ./bin
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
# After src/: the bundle is newer than every source, so bin/roster.js runs it as it is.
RUN node scripts/build.mjs
COPY --from=console /app/console/dist ./console/dist

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    ROSTER_DATABASE_URL=sqlite:/data/roster.db \
    ROSTER_OUTBOX_DIR=/data/outbox \
    ROSTER_SHUTDOWN_DRAIN_MS=0
WORKDIR /app
# Owned by root and not writable by the user the server runs as.
COPY --from=build /app /app
RUN mkdir /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--max-semi-space-size=8", "--heap-growing-percent=30", "bin/roster.js"]
CMD ["serve"]
