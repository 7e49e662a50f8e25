"""`sweeper resume` finds a sweep's folder by its name under a storage, or by its own
path or URI (a whole resume is an end-to-end sweep: tests/test_sweep.py)."""

from __future__ import annotations

import pytest

from sweeper.errors import ConfigError
from sweeper.runner.resume import find_sweep


@pytest.fixture()
def storage(tmp_path):
    (tmp_path / "runs" / "alpha").mkdir(parents=True)
    (tmp_path / "runs" / "alpha" / "sweeper.json").write_text("{}")  # the sweep's state
    (tmp_path / "runs" / "empty").mkdir()
    return tmp_path / "runs"


def test_a_sweep_is_found_by_name_path_or_uri(storage, tmp_path, monkeypatch):
    assert find_sweep("alpha", str(storage)).location == str(storage / "alpha")
    elsewhere = find_sweep(str(storage / "alpha"), "somewhere-else")
    assert (elsewhere.storage, elsewhere.folder) == (str(storage), "alpha")
    by_uri = find_sweep(f"file://{storage}/alpha/", "runs")
    assert by_uri.location == f"file://{storage}/alpha" and by_uri.exists("sweeper.json")
    monkeypatch.chdir(tmp_path)
    assert find_sweep("runs/alpha", "unused").location == str(storage / "alpha")


def test_a_folder_without_a_sweep_s_state_is_no_sweep(storage):
    with pytest.raises(ConfigError, match=r"no sweep 'empty' \(looked for sweeper.json in "
                                          rf"{storage}/empty\)"):
        find_sweep("empty", str(storage))
    with pytest.raises(ConfigError, match="no sweep 'x/nope'.* and "):
        find_sweep("x/nope", str(storage))  # its own path, then a name under the storage
