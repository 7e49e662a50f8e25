"""Starting or joining Ray."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT

from sweeper.runner.ray_env import carried_env


@pytest.mark.slow  # starts a local Ray (about 10 s)
def test_a_local_sweep_starts_its_own_ray_whatever_cluster_the_machine_has():
    """Found beside the cluster tests: with no --address, Ray joined the cluster another
    process had started with `ray start` (as RAY_ADDRESS names one here, at an address
    nothing answers), and the sweep's trials died with it. A local sweep now starts its
    own instance."""
    code = ("from sweeper.runner.ray_env import init_ray; init_ray(None); import ray; "
            "print('gcs', ray.get_runtime_context().gcs_address); ray.shutdown()")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT),
                               "RAY_ADDRESS": "127.0.0.1:1",
                               "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    gcs = done.stdout.split("gcs ", 1)[1].split()[0]
    assert gcs.startswith("127.0.0.1:") and gcs != "127.0.0.1:1"


def test_a_submitted_job_s_own_variables_are_not_carried_twice(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR",
                       '{"runtime_env": {"env_vars": {"HF_HUB_OFFLINE": "1"}}}')
    carried = carried_env()
    assert "HF_HUB_OFFLINE" not in carried
    assert carried["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
