#!/usr/bin/env bash
# Compiles the gateway into one self-contained binary. The Dockerfile runs this same script.
#   scripts/build.sh              -> dist/otp-gateway               (this machine)
#   scripts/build.sh linux-x64    -> dist/otp-gateway-linux-x64     (glibc)
#   scripts/build.sh linux-arm64  -> dist/otp-gateway-linux-arm64   (glibc)
# Cross-compiling takes the target's Bun runtime from the npm registry (@oven/bun-linux-*),
# which Bun fetches into its install cache; no other download is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${1:-native}"
case "$target" in
  native) out=dist/otp-gateway; target_flag=() ;;
  linux-x64|linux-arm64) out="dist/otp-gateway-$target"; target_flag=(--target="bun-$target") ;;
  *) echo "build.sh: unknown target '$target' (native, linux-x64, linux-arm64)" >&2; exit 2 ;;
esac

mkdir -p dist
# --bytecode: about half the start-up time; it needs ESM here (the entry uses top-level await).
# --sourcemap: readable stack traces. NODE_ENV is fixed to production at build time.
# bunfig.toml is not read at run time; an optional .env still is.
bun build src/main.ts --compile "${target_flag[@]}" \
  --minify --bytecode --format=esm --sourcemap=linked \
  --define 'process.env.NODE_ENV="production"' \
  --no-compile-autoload-bunfig \
  --outfile "$out"
ls -l "$out"
