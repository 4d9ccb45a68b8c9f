# Fairway: a small, non-root image whose entrypoint is `fairway`.
# Nothing is written at run time (logs go to stdout/stderr, no temp files, no caches), so the
# container runs with a read-only root filesystem and no writable volume at all.
#   docker build -t fairway:0.1.0 .
#   docker run --rm --read-only -p 8080:8080 -v $PWD/fairway.yaml:/etc/fairway/fairway.yaml:ro fairway:0.1.0
# Sidecar form (no file):
#   docker run --rm --read-only fairway:0.1.0 --listen :8080 --upstream http://127.0.0.1:3000
#
# The base image is the exact Node version of package.json's `node` devDependency (the one the
# tests run on; test/dockerfile.test.ts checks that they agree). To make a build reproducible
# to the byte, add the digest: FROM node:24.21.0-slim@sha256:<digest of that tag>.

FROM node:24.21.0-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only, exactly as locked; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY config/fairway.schema.json ./config/
# Tests and test fixtures stay out; bin/fairway is the name the entrypoint finds on PATH.
RUN find src \( -name '*.test.ts' -o -name '*.testing.ts' -o -name '*.case.ts' \) -delete \
 && ln -s fairway.js bin/fairway

FROM node:24.21.0-slim
ENV NODE_ENV=production \
    FAIRWAY_CONFIG=/etc/fairway/fairway.yaml \
    PATH=/app/bin:$PATH
WORKDIR /app
# Owned by root, read-only for the process: nothing under /app changes at run time. No RUN in
# this stage: the runtime image is the base plus these files.
COPY --from=build /app /app
# The official image's unprivileged `node` user, by number: Kubernetes' runAsNonRoot can only
# verify a numeric user. Listens on 8080 (not 80): no capabilities needed.
USER 1000:1000
EXPOSE 8080 9901
# Node runs as PID 1 and handles SIGTERM itself (drain, then exit 0); `docker run --init` also works.
STOPSIGNAL SIGTERM
ENTRYPOINT ["fairway"]
