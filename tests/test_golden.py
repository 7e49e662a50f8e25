"""`sweeper trial` on fixed settings gives pinned dev and test numbers: refactors must not
move them.

The pinned file was written by the same command; when a change is MEANT to move the
numbers (a protocol fix), regenerate it with `python tests/test_golden.py` and say why
in the commit.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "trial_metrics.json"

pytestmark = pytest.mark.slow


def _run(out: Path, cache: Path) -> dict:
    sys.path.insert(0, str(HERE))
    from conftest import run_cli

    args = json.loads(GOLDEN.read_text())["args"]
    done = run_cli("trial", *args, "--out", str(out), env={"SWEEPER_CACHE": str(cache)})
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    return {split: metrics[split]["xtreme"]["detailed_scores"] for split in ("dev", "test")}


def test_fixed_trial_gives_the_pinned_metrics(tmp_path):
    pinned = json.loads(GOLDEN.read_text())["detailed_scores"]
    # a fresh cache: tokenizer, sample data and features are all built anew
    got = _run(tmp_path / "out", tmp_path / "cache")
    assert _flat(got) == pytest.approx(_flat(pinned), rel=1e-9, abs=1e-9)


def _flat(tree: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


if __name__ == "__main__":  # regenerate the pinned numbers
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        scores = _run(Path(tmp) / "out", Path(tmp) / "cache")
    data = json.loads(GOLDEN.read_text())
    data["detailed_scores"] = scores
    GOLDEN.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
