#!/usr/bin/env bash
# Sets up the machine and runs every test: unit tests, the drivers' conformance kits, and the
# end-to-end tests that drive a real daemon with the real docker CLI and dockerode (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
pnpm run lint
pnpm run typecheck
exec pnpm exec vitest run "$@"
