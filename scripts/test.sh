#!/usr/bin/env bash
# The whole test suite: set-up, generated-protocol check, TypeScript type check, jest, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/gen-protocol.mjs --check
npx --no-install tsc --noEmit -p tsconfig.json
# A hung test must fail CI, not stall it: jest gets a hard wall-clock limit.
NODE_OPTIONS=--experimental-vm-modules timeout --kill-after=10 1200 npx --no-install jest "$@"
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest py-worker/tests -q
