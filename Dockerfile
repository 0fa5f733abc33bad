# syntax=docker/dockerfile:1.7
# One self-contained binary in a minimal glibc image, for linux/amd64 and linux/arm64:
#   docker buildx build --platform linux/arm64,linux/amd64 -t otp-gateway .
# The build stage runs on the builder's own platform and cross-compiles for the
# target (no emulation); scripts/build.sh is the same script `bun run build:*` runs.
# Without Docker or a registry, `bun run image` (scripts/image.sh) builds the runtime stage below
# as it is, on a base made from Debian's packages, swapping only its FROM line and its
# `COPY --from=build` line: the script stops if either changes. Everything else the image holds
# (labels, env, user, HEALTHCHECK, entrypoint) is said here once; the image's test reads it.

FROM --platform=$BUILDPLATFORM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production
COPY tsconfig.json ./
COPY src ./src
COPY scripts/build.sh ./scripts/build.sh
ARG TARGETARCH
RUN case "$TARGETARCH" in \
      amd64) target=linux-x64 ;; \
      arm64) target=linux-arm64 ;; \
      *) echo "unsupported TARGETARCH=$TARGETARCH (amd64, arm64)" >&2; exit 1 ;; \
    esac \
 && bash scripts/build.sh "$target" \
 && cp "dist/otp-gateway-$target" /otp-gateway

# distroless/cc: glibc and libstdc++, no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="otp-gateway" \
      org.opencontainers.image.description="Bun-native OTP gateway in front of the StartMessaging SMS API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /otp-gateway /otp-gateway
# BUN_JSC_forceRAMSize: JSC sizes its heap for 150 MB and collects sooner, so a flood of
# distinct client addresses peaks near 100 MiB instead of about 115 (about 4 % more CPU per
# accepted send; BENCHMARKS.md). Raise it, or remove it, for a larger container.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    BUN_JSC_forceRAMSize=150000000
EXPOSE 3000
USER nonroot:nonroot
# No curl in the image: the binary checks itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/otp-gateway", "healthcheck"]
ENTRYPOINT ["/otp-gateway"]
CMD ["serve"]
