#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite on every core (pytest-xdist):
# the in-process tests and the end-to-end ones (`slow`: whole trials, sweeps, servers).
# Sweeps spend much of their time waiting on process start-ups, so they run beside the
# others, and beside each other (each its own Ray on 127.0.0.1, on free ports), with one
# torch thread per process (tests/conftest.py). With arguments, runs pytest with them
# instead (e.g. -m "not slow" for the fast set). No test collected is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

run() {
  set +e
  .venv/bin/python -m pytest "$@"
  local code=$?
  set -e
  if [ "$code" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    return 1
  fi
  return "$code"
}

if [ "$#" -gt 0 ]; then
  run "$@"
  exit $?
fi
# One session, every test one at a time per worker, longest first (tests/durations.json):
# the end-to-end runs start first and the short tests fill in behind them, so the
# workers end together (the in-process set alone: -m "not slow"; the end-to-end: -m slow)
run -n "${SWEEPER_TEST_WORKERS:-auto}" --maxschedchunk 1 -p no:cacheprovider
