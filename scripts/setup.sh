#!/usr/bin/env bash
# Creates .venv in the checkout and installs sweeper with its test and benchmark extras
# (idempotent: reinstalls only when pyproject.toml changed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.sweeper-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # --no-compile: modules are byte-compiled when first imported, not all at install
  pip=(.venv/bin/python -m pip install -q --no-compile)
  # torch first, pinned: on CPU-only machines this picks the CPU wheel
  "${pip[@]}" "torch==2.13.0" || "${pip[@]}" torch
  "${pip[@]}" -e ".[test,bench]"
  echo "$want" > "$stamp"
fi
