#!/usr/bin/env bash
# Installs what the benchmark needs besides the workspace itself (as root, Debian): the reference
# daemon from Debian's docker.io package (dockerd, containerd, runc), busybox-static for the test
# image, and the tools the bench drives (iptables, iproute2, util-linux for unshare, tar).
# Idempotent: does nothing when everything is already there.
#
# Installing docker.io must not start a system dockerd: on machines without systemd the package's
# init script would start one on /var/run/docker.sock. When the machine has no policy-rc.d of its
# own, a temporary one that forbids starting services is put in place for the install and removed
# afterwards. The bench starts its own dockerd on its own roots; it never uses a system one.
set -euo pipefail

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v containerd >/dev/null 2>&1 || need_apt+=(containerd)
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
command -v tar >/dev/null 2>&1 || need_apt+=(tar)
[ ${#need_apt[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "bench/setup.sh: needs root to install: ${need_apt[*]}" >&2
  exit 1
fi

policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from tsdocker bench/setup.sh: do not start services\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "bench/setup.sh: installing Debian packages: ${need_apt[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
