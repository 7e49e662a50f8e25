#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite on every core (pytest-xdist):
# the in-process tests, then the end-to-end ones (`slow`: whole trials, sweeps, servers),
# those that start Ray one at a time on one worker (xdist_group "ray") while the others
# run beside them. With arguments, runs pytest with them instead (e.g. -m "not slow" for
# the fast set). No test collected is a failure.
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
run -m slow -n "${SWEEPER_TEST_WORKERS:-auto}" --dist loadgroup -p no:cacheprovider || status=$?
exit "$status"
