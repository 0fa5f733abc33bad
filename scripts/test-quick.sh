#!/usr/bin/env bash
# The inner loop, under a minute: type-checks, lints, then runs every test that needs nothing
# but Bun (the memory store; fake upstreams on local sockets; bun child processes). No Redis,
# browser, compiled binary, qemu, wrk or promtool, and nothing is installed on the machine.
# `bun run test` (scripts/test.sh) runs the whole suite. Extra arguments go to bun test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test directories left to the full run, for what their tests need (test/suites.test.ts
# fails when a test elsewhere needs any of it, or when a test here needs none of it):
#   test/integration  a real Redis (the one on 6379, private redis-servers, a Cluster); promtool
#   test/e2e          the compiled binaries; qemu-user-static for the linux-arm64 one
#   test/browser      Debian's chromium
#   test/bench        wrk, and minutes of load
FULL_ONLY=(test/integration test/e2e test/browser test/bench)

# openapi-typescript needs TypeScript 5's compiler API; it lives apart (the contract test runs it).
bun install --cwd tools/openapi-client --frozen-lockfile >/dev/null
bunx tsc --noEmit -p .
bun run lint
ignore=()
for dir in "${FULL_ONLY[@]}"; do ignore+=("--path-ignore-patterns=$dir/**"); done
# Files run in parallel, one worker per core: most of their time is spent waiting on sockets and clocks.
exec bun test --parallel --timeout 20000 "${ignore[@]}" "$@"
