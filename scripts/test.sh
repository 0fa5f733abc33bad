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

bunx tsc --noEmit -p .
# Integration tests start servers and a browser; give them room on a busy 2-core machine.
exec bun test --timeout 20000 "$@"
