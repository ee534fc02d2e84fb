#!/usr/bin/env bash
# The whole test suite: set-up, generated-protocol check, TypeScript type check, jest, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node scripts/gen-protocol.mjs --check
npx --no-install tsc --noEmit -p tsconfig.json
NODE_OPTIONS=--experimental-vm-modules npx --no-install jest "$@"
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest py-worker/tests -q
