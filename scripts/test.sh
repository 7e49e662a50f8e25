#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite: the in-process tests on every
# core (pytest-xdist), then the end-to-end ones (`slow`: sweeps, servers, whole trials)
# one at a time, as each keeps the cores busy itself. With arguments, runs pytest with
# them instead (e.g. -m "not slow" for the fast set). No test collected is a failure.
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
status=0
run -m "not slow" -n "${SWEEPER_TEST_WORKERS:-auto}" -p no:cacheprovider || status=$?
run -m slow -p no:cacheprovider || status=$?
exit "$status"
