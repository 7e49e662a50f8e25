"""What every trial of a sweep is told: plain data made from the spec and where the sweep
lives, the objective's languages expanded once."""

from __future__ import annotations

import pickle

from sweeper.runner.context import SweepContext, Where, sweep_context
from sweeper.space.spec import parse_spec


def test_a_sweep_s_context_is_plain_data_from_its_spec_and_place(catalog, tmp_path):
    spec = parse_spec({"model": "tiny", "targets": ["xnli"],
                       "objective": {"selection": "target_dev", "languages": "low_resource",
                                     "metric": "gain"},
                       "intermediate": {"pool": ["mnli", "qqp"], "counts": [1]}}, catalog, "a")
    where = Where("alpha", "alpha-2", str(tmp_path / "runs"), "sqlite:///m.db",
                  str(tmp_path / "cache"))
    context = sweep_context(spec, catalog, where, "id-1", "parent-1")
    assert isinstance(context, SweepContext)
    assert (context.name, context.experiment, context.sweep_id, context.parent_run_id) == (
        "alpha", "alpha", "id-1", "parent-1")
    assert (context.tracking_uri, context.cache_root) == ("sqlite:///m.db", where.cache)
    assert (context.selection, context.objective_metric) == ("target_dev", "gain")
    assert "sw" in context.objective_languages
    assert {catalog.tier(lang) for lang in context.objective_languages} == {"low"}
    assert pickle.loads(pickle.dumps(context)) == context  # shipped to every worker
