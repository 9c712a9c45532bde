#!/usr/bin/env bash
# The main job: start a tsdocker daemon with a default config, import a busybox image built
# offline from Debian's busybox-static, run a container that prints something, show `ps -a`,
# then stop the daemon cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/demo.mjs
