#!/usr/bin/env bash
# The whole test suite: makes sure what the tests need is on this machine (scripts/setup.sh),
# type-checks, lints, then runs bun test (extra arguments go to bun test, e.g. a path filter).
# `bun run test:quick` (scripts/test-quick.sh) runs only the tests that need nothing but Bun.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need on this machine (Debian packages, a Redis on 127.0.0.1:6379): setup.sh
# says what each is for, and installs or starts what is missing.
if ! bash scripts/setup.sh --check >/dev/null 2>&1; then
  bash scripts/setup.sh || echo "test.sh: the machine is not ready (above): the tests that need it will fail" >&2
fi

# openapi-typescript needs TypeScript 5's compiler API; it lives apart (the contract test runs it).
bun install --cwd tools/openapi-client --frozen-lockfile >/dev/null

bunx tsc --noEmit -p .
# Formatting and lint rules (biome.json); `bun run format` fixes what it can.
bun run lint
# Integration tests start servers, binaries and a browser; give them room on a busy 2-core machine.
exec bun test --timeout 20000 "$@"
