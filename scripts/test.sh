#!/usr/bin/env bash
# The whole test suite: makes sure what the tests need is on this machine, type-checks,
# lints, then runs bun test (extra arguments go to bun test, e.g. a path filter).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use:
#   chromium                           the Swagger UI test (never a downloaded browser)
#   redis-server                       a real Redis, private servers, a local Cluster
#   qemu-user-static libc6-arm64-cross the linux-arm64 binary, run under emulation
#   wrk                                the load generator of `bun run bench` (CI runs its smoke)
#   prometheus                         promtool, which checks the /metrics page
#   lua-check                          luacheck, which lints the store's Lua scripts
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v luacheck >/dev/null 2>&1 || missing+=(lua-check)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages: ${missing[*]} (install them as root)" >&2
  fi
fi

# Tests use database 15 of the Redis on 127.0.0.1:6379; start one when none answers.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test.sh: starting redis-server on 127.0.0.1:6379 (no persistence)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp --logfile /tmp/otp-gateway-test-redis.log
  for _ in $(seq 1 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# openapi-typescript needs TypeScript 5's compiler API; it lives apart (the contract test runs it).
bun install --cwd tools/openapi-client --frozen-lockfile >/dev/null

bunx tsc --noEmit -p .
# Formatting and lint rules (biome.json); `bun run format` fixes what it can.
bun run lint
# Integration tests start servers, binaries and a browser; give them room on a busy 2-core machine.
exec bun test --timeout 20000 "$@"
