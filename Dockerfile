# NEXUS image: the supervisor (default command) and the worker (dist/src/main/worker-main.js).
# Both stages start from the same Debian image, so the better-sqlite3 addon compiled in the
# first runs as is in the second.

FROM node:20-bookworm-slim AS build
# better-sqlite3 compiles from source where no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
COPY scripts ./scripts
# The server (tsc) and the dashboard (esbuild, from web/ and the projections it shares with src/),
# both into dist/.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NEXUS_DATA_DIR=/data \
    PORT=8000
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
# dist/src is the server, dist/web/dashboard the page it serves: no sources, nothing compiled here.
COPY --from=build /app/dist ./dist
# The data folder belongs to the unprivileged user; a named volume mounted there inherits it.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8000
CMD ["node", "--enable-source-maps", "dist/src/main/supervisor-main.js"]
