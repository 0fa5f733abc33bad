#!/usr/bin/env bash
# Makes this machine ready for the whole test suite: installs the Debian packages the tests need
# when they are missing (as root, with apt-get; never a downloaded browser) and starts a Redis on
# 127.0.0.1:6379 when none answers. scripts/test.sh runs it when something is missing.
#   bash scripts/setup.sh           install and start what is missing
#   bash scripts/setup.sh --check   only say what is missing (exit 1 if anything is)
set -euo pipefail

# One line per package: the package, how to tell it is installed (a command or a file), what it is for.
PACKAGES=(
  "chromium           /usr/bin/chromium   the Swagger UI test drives Debian's browser (test/browser)"
  "redis-server       redis-server        a real Redis, private servers, a local Cluster (test/integration, test/e2e)"
  "qemu-user-static   /usr/bin/qemu-aarch64-static   runs the linux-arm64 binary under emulation (test/e2e)"
  "libc6-arm64-cross  /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1   the arm64 glibc that binary loads under qemu"
  "wrk                wrk                 the load generator of bun run bench, whose smoke run is a test (test/bench)"
  "prometheus         promtool            promtool checks /metrics and the alert rules, Prometheus runs the dashboard's queries (test/integration)"
  "lua-check          luacheck            luacheck lints the store's Lua scripts (test/integration/lua.test.ts)"
  "buildah            buildah             builds the container image offline, FROM scratch (bun run image, test/e2e/image.test.ts)"
  "podman             podman              runs the image read-only as its own user, and its HEALTHCHECK (test/e2e/image.test.ts)"
  "runc               runc                the OCI runtime podman uses here: crun cannot drop cgroup controllers on these VMs"
  "skopeo             skopeo              copies the image into compressed layers to measure them (bun run bench:image)"
)

installed() {
  case "$1" in
    /*) [ -e "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
redis_answers() { command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

missing=()
for entry in "${PACKAGES[@]}"; do
  read -r package probe why <<<"$entry"
  installed "$probe" && continue
  missing+=("$package")
  echo "setup.sh: missing $package: $why"
done

if [ "${1:-}" = "--check" ]; then
  redis_answers || echo "setup.sh: no Redis answers on 127.0.0.1:6379 (tests use its database 15)"
  [ "${#missing[@]}" -eq 0 ] && redis_answers
  exit
fi

status=0
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup.sh: not installed (run this as root on Debian, or: apt-get install ${missing[*]})" >&2
    status=1
  fi
fi

# Tests use database 15 of the Redis on 127.0.0.1:6379 (and flush it); start one when none answers.
if ! redis_answers && command -v redis-server >/dev/null 2>&1; then
  echo "setup.sh: starting redis-server on 127.0.0.1:6379 (no persistence)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp \
    --logfile /tmp/otp-gateway-test-redis.log
  for _ in $(seq 1 50); do redis_answers && break; sleep 0.1; done
fi
redis_answers || status=1
exit "$status"
