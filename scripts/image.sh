#!/usr/bin/env bash
# Builds the gateway's container image for linux/amd64 and linux/arm64 with buildah, offline:
# no registry is pulled from and no step runs inside a container, so arm64 needs no emulation.
#   scripts/image.sh                 both architectures -> otp-gateway:<version>-amd64, -arm64,
#                                    and the manifest list otp-gateway:<version> naming both
#   scripts/image.sh amd64           one architecture
#   IMAGE=name scripts/image.sh      another image name (default otp-gateway)
#   NO_BUILD=1 scripts/image.sh      use the binaries already in dist/ (bun run build:linux-*)
#
# What the image holds is written once, in the Dockerfile's runtime stage (labels, user, env,
# HEALTHCHECK, entrypoint): this script builds that stage as it is, with two lines swapped:
#   FROM gcr.io/distroless/cc-debian12:nonroot  ->  a base assembled here from Debian packages
#   COPY --from=build /otp-gateway ...          ->  the binary scripts/build.sh made
# The base holds what distroless cc-debian12:nonroot holds: glibc, libgcc and libstdc++, CA
# certificates, tzdata, /etc/passwd with nonroot (65532); no shell, no package manager. Its
# packages come from Debian's archive (apt-get download, never the host's dpkg) and are kept in
# $IMAGE_CACHE (default ~/.cache/otp-gateway-image) for a week, so a second build needs no network
# and a week-old one takes Debian's security updates (IMAGE_REFRESH=1: fetch them now).
# Needs root, buildah and apt-get (Debian). Container storage is the default one unless
# CONTAINERS_STORAGE_CONF says otherwise (the tests keep theirs in a temporary folder).
set -euo pipefail
# Every step below runs inside $(...): without this, a failure there would not stop the script.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."

IMAGE="${IMAGE:-otp-gateway}"
CACHE="${IMAGE_CACHE:-${HOME:-/root}/.cache/otp-gateway-image}"
VERSION="$(bun -e 'console.log(require("./package.json").version)')"
DISTROLESS="gcr.io/distroless/cc-debian12:nonroot"
COPY_FROM_BUILD="COPY --from=build /otp-gateway /otp-gateway"
# What distroless cc-debian12 is made of (its "cc" adds libgcc and libstdc++ to glibc).
PACKAGES=(base-files netbase tzdata ca-certificates libc6 libgcc-s1 libstdc++6)

say() { echo "image.sh: $*" >&2; }
die() { say "$*"; exit 1; }

case "${1:-all}" in
  all) ARCHES=(amd64 arm64) ;;
  amd64|arm64) ARCHES=("$1") ;;
  *) die "unknown architecture '$1' (amd64, arm64, all)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (buildah builds as root here)"
command -v buildah >/dev/null || die "needs buildah: apt-get install buildah podman runc skopeo"

# Debian's packages for one architecture, from its own package lists (not the host's): each one
# there, or nothing is marked complete. Kept a week, then fetched again.
fetch_debs() {
  local arch=$1
  local dir="$CACHE/debs-$arch" lock
  # One download at a time per architecture: another build waits, then finds it complete.
  mkdir -p "$CACHE"
  exec {lock}>"$CACHE/.lock-$arch"
  flock "$lock"
  if [ -z "${IMAGE_REFRESH:-}" ] && [ -n "$(find "$dir/.complete" -mtime -7 2>/dev/null)" ]; then
    echo "$dir"
    return
  fi
  local apt_opts=(-qq -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Dir::State::Lists=$CACHE/lists-$arch" -o "Dir::Cache=$CACHE/apt-cache"
    -o "Dir::State::Status=/dev/null" -o "APT::Sandbox::User=root")
  rm -rf "$dir" && mkdir -p "$dir" "$CACHE/lists-$arch/partial" "$CACHE/apt-cache/archives/partial"
  say "fetching ${PACKAGES[*]} for $arch"
  apt-get "${apt_opts[@]}" update >&2
  (cd "$dir" && apt-get "${apt_opts[@]}" download "${PACKAGES[@]}" >&2)
  for package in "${PACKAGES[@]}"; do
    compgen -G "$dir/${package}_*.deb" >/dev/null || die "no $package package for $arch was downloaded"
    dpkg-deb --info "$dir/${package}"_*.deb >/dev/null || die "the $package package for $arch is not a .deb"
  done
  touch "$dir/.complete"
  echo "$dir"
}

# The base's root file system as one tar (in $1, a folder of this build's own): the packages'
# files, minus their docs and tools.
base_tar() {
  local work=$1 arch=$2
  local debs root out="$work/base-$arch.tar"
  debs="$(fetch_debs "$arch")"
  root="$work/root-$arch"
  mkdir "$root"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$root"; done
  # What scanners (Trivy, Grype) read to name the packages, as distroless images hold it.
  mkdir -p "$root/var/lib/dpkg/status.d"
  for deb in "$debs"/*.deb; do
    { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } >"$root/var/lib/dpkg/status.d/$(dpkg-deb -f "$deb" Package)"
  done
  # One CA bundle where TLS libraries look for it; update-ca-certificates would make it.
  mkdir -p "$root/etc/ssl/certs"
  cat "$root"/usr/share/ca-certificates/mozilla/*.crt >"$root/etc/ssl/certs/ca-certificates.crt"
  # Keep the copyright files; drop docs, the certificate tool and glibc's iconv modules
  # (the gateway converts no character sets).
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$root"/usr/share/{man,info,lintian,gdb,ca-certificates} "$root/usr/sbin/update-ca-certificates" \
    "$root"/usr/lib/*-linux-gnu/gconv "$root/etc/update-motd.d"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
EOF
  mkdir -p "$root/home/nonroot" "$root/tmp"
  chmod 700 "$root/home/nonroot" && chown 65532:65532 "$root/home/nonroot"
  chmod 1777 "$root/tmp"
  for needed in etc/ssl/certs/ca-certificates.crt usr/share/zoneinfo/UTC etc/passwd; do
    [ -s "$root/$needed" ] || die "the $arch base has no $needed"
  done
  compgen -G "$root/lib/*-linux-gnu/libc.so.6" >/dev/null || die "the $arch base has no glibc"
  # Fixed names order and times: the same packages give the same layer, byte for byte.
  tar --numeric-owner --sort=name --mtime=@0 -C "$root" -cf "$out" .
  echo "$out"
}

build_base() {
  local work=$1 arch=$2
  local name="localhost/otp-gateway-base:cc-debian12-$arch" tar ctr
  tar="$(base_tar "$work" "$arch")"
  ctr="$(buildah from --arch "$arch" --os linux scratch)"
  buildah add --quiet "$ctr" "$tar" / >/dev/null
  buildah config --arch "$arch" --os linux --user 65532:65532 --workingdir /home/nonroot "$ctr"
  buildah commit --quiet --rm --format docker "$ctr" "$name" >/dev/null
  echo "$name"
}

# The Dockerfile's last stage, with its base and its binary swapped as said above.
runtime_stage() {
  local base=$1
  awk -v base="$base" -v distroless="$DISTROLESS" -v copy="$COPY_FROM_BUILD" '
    /^FROM / { stage = ""; from = 0; copied = 0 }
    /^FROM / && $NF == distroless { $0 = "FROM " base; from = 1 }
    $0 == copy { $0 = "COPY otp-gateway /otp-gateway"; copied = 1 }
    { stage = stage $0 "\n" }
    END {
      if (!from || !copied) { print "the Dockerfile'"'"'s last stage no longer starts FROM " distroless " and copies the binary with: " copy >"/dev/stderr"; exit 1 }
      printf "%s", stage
    }' Dockerfile
}

build_image() {
  local arch=$1
  local target base work context
  target="linux-$([ "$arch" = amd64 ] && echo x64 || echo arm64)"
  [ -n "${NO_BUILD:-}" ] || bash scripts/build.sh "$target" >&2
  [ -x "dist/otp-gateway-$target" ] || die "no dist/otp-gateway-$target (bun run build:$target)"
  # This build's own folder: two builds at once share only the downloaded packages.
  work="$(mktemp -d)"
  base="$(build_base "$work" "$arch")"
  context="$work/context"
  mkdir "$context"
  # The context holds only the binary (a hard link when it can): .dockerignore keeps dist/ out.
  ln "dist/otp-gateway-$target" "$context/otp-gateway" 2>/dev/null || cp "dist/otp-gateway-$target" "$context/otp-gateway"
  runtime_stage "$base" >"$context/Containerfile"
  # --format docker: the OCI format has no HEALTHCHECK.
  buildah bud --quiet --pull=never --format docker --platform "linux/$arch" \
    --build-arg "VERSION=$VERSION" -f "$context/Containerfile" -t "$IMAGE:$VERSION-$arch" "$context" >/dev/null
  rm -rf "$work"
  say "built $IMAGE:$VERSION-$arch"
}

for arch in "${ARCHES[@]}"; do build_image "$arch"; done

if [ "${#ARCHES[@]}" -gt 1 ]; then
  # One name for both, as docker buildx --platform makes: buildah manifest push --all sends both.
  buildah manifest rm "$IMAGE:$VERSION" >/dev/null 2>&1 || true
  buildah manifest create "$IMAGE:$VERSION" >/dev/null
  for arch in "${ARCHES[@]}"; do
    buildah manifest add --arch "$arch" "$IMAGE:$VERSION" "containers-storage:localhost/$IMAGE:$VERSION-$arch" >/dev/null
  done
  say "manifest list $IMAGE:$VERSION: ${ARCHES[*]}"
fi
