#!/usr/bin/env bash
# The whole test suite: makes sure what the tests need is on this machine, type-checks,
# then runs bun test (extra arguments go to bun test, e.g. a path filter).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Swagger UI test drives Debian's Chromium; a browser download is never used.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing Debian's chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test.sh: chromium is missing; install Debian's 'chromium' package (the browser test needs it)" >&2
  fi
fi

# Integration tests talk to a real Redis on 127.0.0.1:6379 (database 15) and start
# private redis-server processes (one dies and restarts; three form a Cluster).
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing Debian's redis-server"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "test.sh: redis-server is missing; install Debian's 'redis-server' package" >&2
  fi
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test.sh: starting redis-server on 127.0.0.1:6379 (no persistence)"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /tmp --logfile /tmp/otp-gateway-test-redis.log
  for _ in $(seq 1 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

bunx tsc --noEmit -p .
# Integration tests start servers and a browser; give them room on a busy 2-core machine.
exec bun test --timeout 20000 "$@"
