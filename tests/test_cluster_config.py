"""cluster.yaml is a valid Ray cluster launcher config; the code reaches the nodes one
way only (the job's working dir), the nodes install the dependencies of pyproject.toml."""

from __future__ import annotations

import yaml
from conftest import ROOT


def test_cluster_yaml_validates_against_rays_schema():
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    validate_config(prepare_config(raw))
    setup = " ".join(raw["setup_commands"])
    assert "pip install" in setup and "sweeper-pyproject.toml" in setup
    assert "-e " not in setup and "pip install -q /" not in setup  # no installed copy of the code
    # no code mounted: the dependencies, and the head's tracking-server set-up
    assert sorted(raw["file_mounts"].values()) == ["pyproject.toml",
                                                    "scripts/cluster/tracking_server.sh"]
    # the tracking store: PostgreSQL with MLflow's authentication app, no SQLite anywhere
    head = " ".join(raw["head_setup_commands"])
    server = (ROOT / "scripts/cluster/tracking_server.sh").read_text()
    assert "sweeper-tracking-server.sh" in head and "mlflow[auth]" in head
    assert "--app-name basic-auth" in server and "postgresql://" in server
    assert "sqlite:" not in (ROOT / "cluster.yaml").read_text() + server
    assert '--host "$HOST"' in server and "hostname -I" in server  # the private address
    assert "--working-dir ." in (ROOT / "cluster.yaml").read_text()
    assert any(t["node_config"]["InstanceType"].startswith(("g", "p"))
               for t in raw["available_node_types"].values())
    assert "--dashboard-host=127.0.0.1" in " ".join(raw["head_start_ray_commands"])
