# Fairway: a small, non-root image whose entrypoint is `fairway`.
#   docker build -t fairway .
#   docker run --rm -p 8080:8080 -v $PWD/fairway.yaml:/etc/fairway/fairway.yaml:ro fairway
# Sidecar form (no file):
#   docker run --rm fairway --listen :8080 --upstream http://127.0.0.1:3000

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    FAIRWAY_CONFIG=/etc/fairway/fairway.yaml
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY config/fairway.schema.json ./config/
RUN find src \( -name '*.test.ts' -o -name '*.case.ts' \) -delete \
 && ln -s /app/bin/fairway.js /usr/local/bin/fairway \
 && mkdir -p /etc/fairway
# The official image's unprivileged user (uid 1000). Listen on 8080, not 80: no capabilities needed.
USER node
EXPOSE 8080 9901
# Node runs as PID 1 and handles SIGTERM itself (drain, then exit 0); `docker run --init` also works.
STOPSIGNAL SIGTERM
ENTRYPOINT ["fairway"]
