#!/usr/bin/env bash
# The main job: a local sweep on the SYNTHETIC sample data with the tiny model, offline,
# Ray on 127.0.0.1 only. Results: ./runs/quickstart-* (Ray Tune), ./runs/mlflow.db (MLflow)
# and the report, ./runs/quickstart-*/report/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
name="quickstart-$(date +%Y%m%d-%H%M%S)"
.venv/bin/sweeper run search_spaces/quickstart.yaml --name "$name" "$@"
# the answer: count effect with its interval, task values over the chains, ranked tasks
exec .venv/bin/sweeper report "$name"
