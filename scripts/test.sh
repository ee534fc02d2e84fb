#!/usr/bin/env bash
# The whole test suite: set-up, generated-protocol check, TypeScript type check, jest, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The report's browser test drives Debian's Chromium headless (never a downloaded browser); a fresh
# machine lacks it, and only the test suite needs it.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[c3l test] installing Debian's chromium for the report's browser test (apt-get)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  else
    echo "[c3l test] chromium is missing and cannot be installed here (needs root and apt-get): test/report/browser.test.ts will fail until Debian's chromium is installed" >&2
  fi
fi
node scripts/gen-protocol.mjs --check
npx --no-install tsc --noEmit -p tsconfig.json
# A hung test must fail CI, not stall it: jest gets a hard wall-clock limit.
NODE_OPTIONS=--experimental-vm-modules timeout --kill-after=10 1200 npx --no-install jest "$@"
# Two pytest processes (pytest-xdist): one left the second core idle for most of its ~110 s.
HF_HUB_OFFLINE=1 .venv/bin/python -m pytest py-worker/tests -q -n 2
