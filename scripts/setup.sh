#!/usr/bin/env bash
# Installs what tsdocker needs on a fresh Debian machine (as root), then installs and builds the
# workspace. Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
command -v nsenter >/dev/null 2>&1 || need_apt+=(util-linux)
command -v mknod >/dev/null 2>&1 || need_apt+=(coreutils)
command -v ps >/dev/null 2>&1 || need_apt+=(procps)
command -v setfattr >/dev/null 2>&1 || need_apt+=(attr)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v script >/dev/null 2>&1 || need_apt+=(bsdutils)
command -v docker >/dev/null 2>&1 || need_apt+=(docker.io)
# TLS tests make a throw-away CA and certificates with openssl at test time.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

pnpm_version=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$pnpm_version" ]; then
  echo "setup: installing pnpm $pnpm_version"
  npm install -g --no-fund --no-audit "pnpm@$pnpm_version" >/dev/null
fi

pnpm install --frozen-lockfile
pnpm run build
