"""A fidelity ladder's searcher: rung 0 runs every set, the next rung starts once it has
finished, with the promoted, audited and reference sets at the rung's settings; its state
survives a save and restore at any rung; a rung's stages never share a cheaper rung's keys."""

from __future__ import annotations

import json

import pytest
from ray.tune.search import Searcher

from sweeper.errors import ConfigError
from sweeper.frozen import freeze
from sweeper.search import searchers
from sweeper.search.ladder import LadderSearch, set_of
from sweeper.space.params import RESOLVED, without_resolved
from sweeper.space.space import Resolver, grid, params_to_settings
from sweeper.space.spec import parse_spec
from sweeper.trial.keys import trial_keys
from sweeper.trial.resolve import resolve
from sweeper.trial.resolved import Facts

POOL = ["mnli", "qqp", "sst2", "anli", "swahili_news", "hausa_voa_topics"]


def _spec(catalog, rungs=None, seeds=(0, 1)):
    rungs = rungs or [{"name": "screen", "model": "tiny", "budget_share": 0.5,
                       "promote": {"top": 0.25}},
                      {"name": "full", "model": "small"}]
    return parse_spec({"model": "tiny", "targets": ["xnli"], "seeds": list(seeds),
                       "intermediate": {"sets": [[]] + [[t] for t in POOL],
                                        "budget": {"examples_total": 400, "epochs": 1}},
                       "search": {"algorithm": "grid"},
                       "fidelity": {"rungs": rungs, "audit": {"share": 0.1, "min": 3}}},
                      catalog, "ladder")


def _facts(catalog, model: str) -> Facts:
    return Facts(model_id=f"{model}:test", tokenizer="tok", num_layers=2, max_positions=512,
                 data_versions=freeze({t: "v1" for t in catalog.tasks}), device="cpu")


def _resolver(spec, catalog) -> Resolver:
    return Resolver(spec, {m: _facts(catalog, m) for m in ("tiny", "small")})


def _drain(search, prefix: str) -> list[tuple[str, dict]]:
    out = []
    while isinstance(config := search.suggest(f"{prefix}{len(out)}"), dict):
        out.append((f"{prefix}{len(out)}", config))
    return out


def _score(config: dict) -> float:
    """A dev objective that prefers sets by their first task's name (seeded noise aside)."""
    tasks = config["tasks"] or "~"
    return 100.0 - POOL.index(tasks) if tasks in POOL else 50.0 + config["seed"]


def test_rungs_run_in_order_with_promoted_audited_and_reference_sets(catalog, tmp_path):
    spec = _spec(catalog)
    limited, n = searchers.build(spec, _resolver(spec, catalog))
    search = limited.searcher  # the ladder inside its concurrency limit
    assert n == -1  # the searcher says when it is done
    first = _drain(search, "a")
    assert len(first) == len(grid(spec)) == 14  # 7 sets x 2 seeds
    assert {c["rung"] for _, c in first} == {"screen"} and {c["via"] for _, c in first} == \
        {"start"}
    assert all(c[RESOLVED].model == "tiny" and c[RESOLVED].intermediate.examples_cap in
               (None, 200) for _, c in first)  # half of the 400 examples
    for trial_id, config in first[:-1]:
        search.on_trial_complete(trial_id, {"objective": _score(config)})
    assert search.suggest("wait") is None  # one trial of the rung still runs
    search.on_trial_complete(first[-1][0], {"objective": _score(first[-1][1])})
    up = _drain(search, "b")
    via = {}
    for _, config in up:
        via.setdefault(config["via"], set()).add(config["tasks"])
        assert config["rung"] == "full" and config[RESOLVED].model == "small"
        assert config[RESOLVED].intermediate.examples_cap in (None, 400)
    # top 0.25 of 7 sets: 2; 3 of the 5 passed over, seeded; the set without tasks
    assert via["promoted"] == {"mnli", "qqp"} and len(via["audited"]) == 3
    assert not via["audited"] & via["promoted"] and len(up) == 2 * (5 + len(via.get(
        "reference", ())))
    assert "" in via["audited"] | via.get("reference", set())
    # saved mid-rung and restored: the restored searcher goes on at the same rung
    search.on_trial_complete(up[0][0], {"objective": 1.0})
    search.save(str(tmp_path / "state.pkl"))
    again = searchers.build(spec, _resolver(spec, catalog))[0].searcher
    again.restore(str(tmp_path / "state.pkl"))
    assert again.suggest("c0") is None  # rung 'full' still has running trials
    for trial_id, _ in up[1:]:
        again.on_trial_complete(trial_id, {"objective": 2.0})
    assert again.suggest("c1") == Searcher.FINISHED  # the last rung promotes nowhere
    decisions = again.inner.decisions
    assert [d["rung"] for d in decisions] == ["screen"]
    assert {json.loads(u)["tasks"] for u in decisions[0]["promoted"]} == {"mnli", "qqp"}


def _timeline(spec) -> list[tuple[str, str, dict]]:
    """A ladder run to its end as Tune drives it: ("suggest" | "complete", trial id,
    config), every rung's trials given, then finished in order."""
    search = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
    events, n = [], 0
    while isinstance(config := search.suggest(f"t{n}"), dict) or config is None:
        if config is None:  # the rung still runs: its trials finish
            for _, trial_id, given in [e for e in events if e[0] == "suggest"]:
                if not any(e[:2] == ("complete", trial_id) for e in events):
                    search.on_trial_complete(trial_id, {"objective": _score(given)})
                    events.append(("complete", trial_id, given))
            continue
        events.append(("suggest", f"t{n}", config))
        n += 1
    return events


def _tune_state(folder, events) -> None:
    """The experiment state Tune saved after `events`: each trial given, finished
    (TERMINATED, its last result) or not (RUNNING)."""
    done = {e[1] for e in events if e[0] == "complete"}
    trials = [[json.dumps({"trial_id": tid, "status": "TERMINATED" if tid in done else
                           "RUNNING", "config": config}),
               json.dumps({"last_result": {"objective": _score(config)} if tid in done
                           else {}})]
              for kind, tid, config in events if kind == "suggest"]
    (folder / "experiment_state-2026-01-01_00-00-00.json").write_text(
        json.dumps({"trial_data": trials}))


def test_a_restored_ladder_follows_the_restored_trials_whatever_its_state_says(
        catalog, tmp_path):
    """A driver killed between the copies of the searcher's state and of the experiment
    state leaves the ladder behind or ahead of Tune's trials, across a rung's end too.
    Ahead, it waited forever for trials Tune never heard of; behind, it gave points held
    by trials again. Rebuilt from the restored trials it gives every point exactly once
    and decides every rung as the run without the fault did."""
    spec = _spec(catalog)
    events = _timeline(spec)
    reference = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
    for kind, tid, config in events:
        reference.suggest(tid) if kind == "suggest" else \
            reference.on_trial_complete(tid, {"objective": _score(config)})
    assert reference.suggest("end") == Searcher.FINISHED
    points = sorted(json.dumps(c, sort_keys=True) for k, _, c in events if k == "suggest")
    boundary = next(i for i, e in enumerate(events) if e[2]["level"] == 1)
    cuts = [(boundary - 3, boundary - 1), (boundary - 1, boundary - 3),  # mid-rung
            (boundary + 2, boundary - 2), (boundary - 2, boundary + 2),  # across its end
            (boundary + 4, boundary + 1), (len(events), boundary)]
    for at, searcher_at in cuts:
        folder = tmp_path / f"{at}-{searcher_at}"
        folder.mkdir()
        saved = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
        for kind, tid, config in events[:searcher_at]:
            saved.suggest(tid) if kind == "suggest" else \
                saved.on_trial_complete(tid, {"objective": _score(config)})
        saved.save(str(folder / "searcher-state.pkl"))
        _tune_state(folder, events[:at])
        search = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
        search.restore(str(folder / "searcher-state.pkl"))
        held = [(tid, c) for k, tid, c in events[:at] if k == "suggest"]
        done = {tid for k, tid, _ in events[:at] if k == "complete"}
        live = [(tid, c) for tid, c in held if tid not in done]  # Tune runs them again
        given, n = [], 0
        while (config := search.suggest(f"r{n}")) != Searcher.FINISHED:
            if config is None:
                assert live, f"cut {at}/{searcher_at}: waits for a trial nobody runs"
                for tid, c in live:
                    search.on_trial_complete(tid, {"objective": _score(c)})
                live = []
                continue
            given.append(config)
            live.append((f"r{n}", config))
            n += 1
        assert sorted(json.dumps(c, sort_keys=True) for c in [c for _, c in held] + given) \
            == points, f"cut {at}/{searcher_at}"
        assert search.decisions == reference.decisions


def test_failed_sets_are_not_promoted_and_a_rung_with_nobody_ends_the_search(catalog):
    spec = _spec(catalog, seeds=(0,))
    search = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
    configs = _drain(search, "a")
    for trial_id, config in configs:
        search.on_trial_complete(trial_id, None, error=True)
    assert search.suggest("b") == Searcher.FINISHED  # nothing scored: nobody goes up
    assert search.decisions[0]["promoted"] == []


def test_a_rungs_stages_have_their_own_keys(catalog):
    """The stage cache serves a rung only what that rung computed: the settings a rung
    changes (encoder, budget share) enter the intermediate and baseline keys."""
    spec = _spec(catalog, seeds=(0,))
    point = next(p for p in grid(spec) if p["tasks"] == "mnli")
    keys = {}
    for rung in ("screen", "full"):
        settings = params_to_settings(spec, {**point, "rung": rung})
        keys[rung] = trial_keys(resolve(settings, catalog, _facts(catalog, settings.model)),
                                catalog)
    assert keys["screen"].intermediate != keys["full"].intermediate
    assert keys["screen"].baseline != keys["full"].baseline  # another encoder
    # the same encoder at a quarter of the data: the intermediate stage differs, the
    # baseline (no intermediate phase) is rightly the same
    same = _spec(catalog, seeds=(0,), rungs=[
        {"name": "quarter", "model": "tiny", "budget_share": 0.25, "promote": {"top": 0.5}},
        {"name": "whole", "model": "tiny"}])
    a, b = (trial_keys(resolve(params_to_settings(same, {**point, "rung": r}), catalog,
                               _facts(catalog, "tiny")), catalog) for r in ("quarter", "whole"))
    assert a.intermediate != b.intermediate and a.baseline == b.baseline
    # without a rung, a point's settings are the space's own (no ladder applied)
    plain = params_to_settings(spec, point)
    assert plain.model == "tiny" and plain.intermediate.examples_total == 400
    assert set_of({**point, "rung": "full", "via": "audited"}) == set_of(point)
    assert without_resolved({**point, RESOLVED: 1}) == point


def test_within_interval_promotes_the_sets_whose_seed_interval_reaches_the_best(catalog):
    spec = _spec(catalog, seeds=(0, 1, 2), rungs=[
        {"name": "screen", "model": "tiny", "budget_share": 0.5,
         "promote": {"within_interval": True}},
        {"name": "full", "model": "small"}])
    search = LadderSearch(grid(spec), spec.fidelity, "objective", "max")
    spread = {"mnli": (60.0, 70.0, 80.0), "qqp": (55.0, 58.0, 61.0), "sst2": (30.0, 30.5, 31.0)}
    for trial_id, config in _drain(search, "a"):
        values = spread.get(config["tasks"], (10.0, 10.0, 10.0))  # the rest: no spread
        search.on_trial_complete(trial_id, {"objective": values[config["seed"]]})
    up = [c for _, c in _drain(search, "b")]
    promoted = {c["tasks"] for c in up if c["via"] == "promoted"}
    # mnli's interval (about 45..95) reaches down past qqp's upper end, not to sst2's
    assert promoted == {"mnli", "qqp"}
    assert {c["tasks"] for c in up if c["via"] == "audited"} <= set(POOL) | {""}


def test_a_ladder_outside_a_grid_or_under_a_scheduler_ends_in_one_line(tmp_path):
    import yaml
    from conftest import run_cli

    raw = {"name": "ladder", "model": "tiny", "data": "sample", "targets": ["xnli"],
           "intermediate": {"pool": POOL, "counts": [1, 2],
                            "budget": {"examples_total": 400, "epochs": 1}},
           "search": {"algorithm": "optuna", "num_samples": 4},
           "fidelity": {"rungs": [{"name": "screen", "model": "tiny", "budget_share": 0.5,
                                   "promote": {"top": 0.5}}, {"name": "full", "model": "small"}]}}
    path = tmp_path / "ladder.yaml"
    path.write_text(yaml.safe_dump(raw))
    for command in (["validate", str(path)], ["run", str(path), "--storage", str(tmp_path)]):
        done = run_cli(*command)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert "a fidelity ladder runs on grid designs" in done.stderr
    # a scheduler would stop trials early and the ladder promote on partial objectives
    raw["search"] = {"algorithm": "grid", "scheduler": {"asha": {"grace_period": 1}}}
    path.write_text(yaml.safe_dump(raw))
    done = run_cli("validate", str(path))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "drop search.scheduler" in done.stderr


def test_the_ranking_as_rung_0_sends_its_top_sets_and_an_audit_to_the_first_rung(catalog):
    """fidelity.rank (with search.prior: rank): before any training the ranking's top
    quarter goes up, with the audit's share (at least 3) of the others and the set without
    tasks; the rest never trains. Each carries how it got there."""
    raw = {"model": "tiny", "targets": ["xnli"], "seeds": [0],
           "intermediate": {"sets": [[]] + [[t] for t in POOL],
                            "budget": {"examples_total": 400, "epochs": 1}},
           "search": {"algorithm": "grid", "prior": "rank"},
           "fidelity": {"rank": {"top": 0.25},
                        "rungs": [{"name": "screen", "model": "tiny", "promote": {"top": 0.5}},
                                  {"name": "full", "model": "small"}]}}
    spec = parse_spec(raw, catalog, "ranked")
    ranking = {t: float(-i) for i, t in enumerate(POOL)}  # mnli best, hausa worst
    search = LadderSearch(grid(spec), spec.fidelity, "objective", "max", ranking=ranking)
    first = {c["tasks"]: c["via"] for _, c in _drain(search, "t")}
    assert first["mnli"] == first["qqp"] == "ranked" and first[""] == "reference"
    assert sorted(v for v in first.values()) == ["rank_audited"] * 3 + ["ranked"] * 2 + \
        ["reference"]
    assert len(first) == len(POOL)  # one set of the six never trains
    assert search.decisions[0]["rung"] == "rank"
    plain = LadderSearch(grid(spec), spec.fidelity, "objective", "max")  # no ranking: all
    assert len(_drain(plain, "p")) == len(POOL) + 1


def test_a_ranked_ladder_and_a_rank_prior_go_together(catalog):
    base = {"model": "tiny", "targets": ["xnli"],
            "intermediate": {"sets": [[]] + [[t] for t in POOL]},
            "fidelity": {"rungs": [{"name": "screen", "promote": {"top": 0.5}},
                                   {"name": "full", "model": "small"}]}}
    with pytest.raises(ConfigError, match="fidelity.rank .* needs search.prior: rank"):
        parse_spec({**base, "search": {"algorithm": "grid"},
                    "fidelity": {**base["fidelity"], "rank": {"top": 0.5}}}, catalog, "x")
    with pytest.raises(ConfigError, match="with fidelity.rank, a ladder's first"):
        parse_spec({**base, "search": {"algorithm": "grid", "prior": "rank"}}, catalog, "x")
