#!/usr/bin/env bash
# A local stand-in for the official `node:MAJOR-slim` image, for machines with
# no Docker engine and no way to Docker Hub: the project's unmodified
# Dockerfile (`FROM node:24-slim`) then builds with
# `buildah --storage-driver vfs bud --pull=never`.
#
#   .ci/make-node-base.sh [MAJOR [TAG]]     MAJOR default 24; TAG default docker.io/library/node:MAJOR-slim
#
# What it holds, as the Dockerfile needs of the real image: Debian bookworm
# (debootstrap, minbase variant: what debian:bookworm-slim is), Node.js MAJOR
# (the `node-linux-<arch>` package of the npm registry) and npm 11 under
# /usr/local, a `node` user and group with uid/gid 1000, and this machine's CA
# bundle with NODE_EXTRA_CA_CERTS pointing at it (so `npm ci` inside a build
# trusts what npm outside it trusts). Needs root. Does nothing when TAG exists.
set -euo pipefail
major="${1:-24}"
tag="${2:-docker.io/library/node:${major}-slim}"
here="$(cd "$(dirname "$0")" && pwd)"
B=(buildah --storage-driver vfs)

if ! command -v buildah >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  "$here/install-debian-packages" buildah debootstrap >/dev/null
fi
if "${B[@]}" inspect --type image "$tag" >/dev/null 2>&1; then
  echo "make-node-base: $tag already present"
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "make-node-base: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac

# The Debian mirror apt already uses (deb822 or one-line sources), else the default.
mirror=$(grep -hoE '^(URIs:|deb) *https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
  | head -1 | grep -oE 'https?://[^ ]+' || true)
mirror="${mirror:-http://deb.debian.org/debian}"

work=$(mktemp -d -t outpost-node-base.XXXXXX)
container=""
cleanup() {
  [ -z "$container" ] || "${B[@]}" rm "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
root="$work/rootfs"

echo "make-node-base: debootstrap bookworm (minbase) from $mirror ..."
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

echo "make-node-base: Node.js $major and npm 11 from the npm registry ..."
(cd "$work" && npm pack --silent "node-linux-${arch}@${major}" "npm@11" >/dev/null)
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-"${arch}"-*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/dev/*

echo "make-node-base: committing $tag ..."
container=$("${B[@]}" from --pull=never scratch)
mount=$("${B[@]}" mount "$container")
tar -C "$root" -cf - . | tar -C "$mount" -xpf -
"${B[@]}" umount "$container" >/dev/null
"${B[@]}" config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --cmd node "$container"
"${B[@]}" commit --quiet --format docker "$container" "$tag" >/dev/null
echo "make-node-base: $tag ready (node $(chroot "$root" /usr/local/bin/node --version))"
