#!/usr/bin/env bash
# Creates .venv in the checkout and installs sweeper with its test and benchmark extras
# (idempotent: reinstalls only when pyproject.toml changed). torch comes first, through
# pip and pinned (pip's configuration may point it at a local CPU wheel); the rest through
# uv, which downloads and byte-compiles on every core (pip, if uv cannot).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.sweeper-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip=(.venv/bin/python -m pip install -q)
  "${pip[@]}" --upgrade pip
  "${pip[@]}" uv || echo "uv could not be installed: pip installs everything" >&2
  # on CPU-only machines this picks the CPU wheel
  "${pip[@]}" "torch==2.13.0" || "${pip[@]}" torch
  if ! { [ -x .venv/bin/uv ] && .venv/bin/uv pip install -q --python .venv/bin/python \
           --compile-bytecode -e ".[test,bench]"; }; then
    "${pip[@]}" -e ".[test,bench]"
  fi
  echo "$want" > "$stamp"
fi
