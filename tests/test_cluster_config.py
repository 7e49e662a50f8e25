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
    assert list(raw["file_mounts"].values()) == ["pyproject.toml"]  # no code mounted
    assert "--working-dir ." in (ROOT / "cluster.yaml").read_text()
    assert any(t["node_config"]["InstanceType"].startswith(("g", "p"))
               for t in raw["available_node_types"].values())
    assert "--dashboard-host=127.0.0.1" in " ".join(raw["head_start_ray_commands"])
