# syntax=docker/dockerfile:1
# The agent's image: one process, the agent, as a non-root user on a read-only root filesystem.
# Stage 1 builds and packs the package exactly as npm would publish it; stage 2 installs that
# package with its production dependencies only. test/deploy/image-steps.test.ts performs the
# same steps in a temp dir and starts the result as a non-root user (no container runtime needed).

# Node 24 is the active LTS (Node 20 reached end of life on 2026-04-30).
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm pack --pack-destination /tmp && mv /tmp/apollo-sidecar-agent-*.tgz /tmp/apollo-sidecar-agent.tgz

FROM node:24-slim
WORKDIR /opt/apollo-sidecar-agent
COPY --from=build /tmp/apollo-sidecar-agent.tgz /tmp/
COPY package-lock.json ./
# The packed package plus the lock file: `npm ci` installs exactly the locked production
# dependencies. No install scripts run, the npm cache is dropped, nothing is left writable.
RUN tar -xzf /tmp/apollo-sidecar-agent.tgz --strip-components=1 \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm /tmp/apollo-sidecar-agent.tgz \
 && mkdir -p /var/lib/apollo-sidecar-agent \
 && chown 65532:65532 /var/lib/apollo-sidecar-agent \
 && chmod 0700 /var/lib/apollo-sidecar-agent

# The state dir (ledger.json, apollo-cache/) is the only place the agent writes: mount a
# volume (an emptyDir) on /var/lib/apollo-sidecar-agent and the root filesystem can be
# read-only. The agent refuses a state dir that is not its own or that others can write, as an
# emptyDir's root (root-owned, 0777) is, so it keeps its state in a subdirectory it creates 0700.
# The HTTP port listens on every address so that the kubelet's probes and Prometheus reach it.
# MALLOC_ARENA_MAX and UV_THREADPOOL_SIZE: fewer malloc arenas and libuv threads (docs/benchmarks.md,
# figure 4). GLIBC_TUNABLES turns off glibc's per-thread cache of freed chunks: one such chunk
# left at the top of the heap kept the 7 MB that parsing the bundle borrows from being returned
# (55 or 62 MB idle, by chance, before). It also pins the mmap threshold at its default, 128 KiB:
# glibc raises it to the size of each large block freed, and then the next buffers of a release
# (bodies, ledger and cache writes) came from the heap and left holes (58.8 -> 57.8 MB after three
# 500-component releases).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    GLIBC_TUNABLES=glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=131072 \
    UV_THREADPOOL_SIZE=1 \
    AGENT_STATE_DIR=/var/lib/apollo-sidecar-agent/state \
    AGENT_HTTP=0.0.0.0:34980
EXPOSE 34980
USER 65532:65532
# Node's memory settings (docs/benchmarks.md, figure 4; the README for a configuration of ~100,000
# keys, where --lite-mode costs time): they work only on the command line, not in NODE_OPTIONS.
# --heap-growing-percent=100: under --lite-mode V8 grows the heap by little after each full
# collection, so a large release collected the whole heap again and again (100,000 keys: 290 ms,
# half of it in the collector; 131 ms with it); the idle footprint does not change, because `run`
# collects once a release is applied (--expose-gc; src/cli/collect-when-quiet.ts).
ENTRYPOINT ["node", "--max-semi-space-size=1", "--single-threaded-gc", "--v8-pool-size=1", "--lite-mode", "--heap-growing-percent=100", "--expose-gc", "/opt/apollo-sidecar-agent/bin/apollo-sidecar-agent.js"]
CMD ["run"]
