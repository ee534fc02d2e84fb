#!/usr/bin/env bash
# Idempotent set-up, run by both `npm run quickstart` and `npm test`: node modules, the project's
# Python virtual environment (.venv, pinned versions), the TypeScript build. A second call does
# only what changed. C3L_TORCH picks the torch requirement (default torch==2.13.0, a CPU build).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_SPEC="${C3L_TORCH:-torch==2.13.0}"
BOOTSTRAP_PYTHON="${C3L_BOOTSTRAP_PYTHON:-python3}"
say() { printf '[c3l setup] %s\n' "$*" >&2; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

want="$(cat py-worker/requirements.lock py-worker/pyproject.toml | sha256sum | cut -c1-16) ${TORCH_SPEC}"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.c3l-stamp 2>/dev/null)" != "$want" ]; then
  say "preparing the Python environment in .venv (${TORCH_SPEC})"
  [ -x .venv/bin/python ] || "$BOOTSTRAP_PYTHON" -m venv .venv
  # torch first and alone: a bare `torch` requirement elsewhere would pull a multi-GB CUDA build.
  # shellcheck disable=SC2086  # C3L_TORCH may carry pip options such as --index-url
  .venv/bin/python -m pip install --quiet --disable-pip-version-check $TORCH_SPEC
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r py-worker/requirements.lock
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e py-worker
  echo "$want" > .venv/.c3l-stamp
fi

# tsc --incremental skips the work when nothing changed.
npx --no-install tsc -p tsconfig.build.json
