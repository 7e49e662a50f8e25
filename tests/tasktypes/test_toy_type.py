"""Adding a task type is one module plus catalog YAML: the README's walkthrough, followed.

The module and the catalog entry are the README's own code blocks ("Adding a task type":
sentence-pair regression, STS-B), so the walkthrough cannot drift from what works. The
module goes to a temporary folder appended to `sweeper.tasktypes.__path__` (the registry
looks for types along it), the entry to a copy of the packaged catalog; both are gone
again after each test.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
import torch
from conftest import ROOT, run_cli

import sweeper.catalog
from sweeper import tasktypes
from sweeper.catalog import load_catalog
from sweeper.catalog.schema import TaskSpec

NAME = "regression"  # the README's type
TASK = "stsb"  # the README's catalog entry


def _readme_blocks() -> tuple[str, str]:
    """The module and the catalog entry of the README's walkthrough, dedented."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Adding a task type", 1)[1].split("\n### ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    entry = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    return textwrap.dedent(code), textwrap.dedent(entry)


def _forget() -> None:
    """Drop every trace of the added type and catalog from the caches."""
    tasktypes.registry.cache_clear()
    load_catalog.cache_clear()
    sys.modules.pop(f"sweeper.tasktypes.{NAME}", None)


@pytest.fixture
def added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TaskSpec]:
    """The README's type registered and its entry in the catalog; the catalog task."""
    code, entry = _readme_blocks()
    types = tmp_path / "types"
    types.mkdir()
    (types / f"{NAME}.py").write_text(code)
    catalog = tmp_path / "catalog"
    shutil.copytree(Path(sweeper.catalog.__file__).parent, catalog,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (catalog / "tasks" / "added.yaml").write_text("tasks:\n" + entry)
    assert NAME not in tasktypes.names()
    monkeypatch.setattr(tasktypes, "__path__", [*tasktypes.__path__, str(types)])
    monkeypatch.setattr(sweeper.catalog, "HERE", catalog)
    _forget()
    try:
        yield load_catalog().task(TASK)
    finally:
        monkeypatch.undo()
        _forget()
    assert NAME not in tasktypes.names() and TASK not in load_catalog().tasks


def test_a_type_that_does_not_say_its_family_is_refused(tmp_path, monkeypatch):
    code, _ = _readme_blocks()
    (tmp_path / f"{NAME}.py").write_text(code.replace('    family = "sentence"', ""))
    monkeypatch.setattr(tasktypes, "__path__", [*tasktypes.__path__, str(tmp_path)])
    _forget()
    try:
        with pytest.raises(RuntimeError, match=f"task type '{NAME}' does not say its family"):
            tasktypes.registry()
    finally:
        monkeypatch.undo()
        _forget()
    assert NAME not in tasktypes.names()


def test_the_catalog_loads_the_added_type_and_sweeper_tasks_lists_it(added):
    assert NAME in tasktypes.names() and added.kind is tasktypes.get(NAME)
    assert added.type == NAME and added.metric == "pearson" and added.is_intermediate
    done = run_cli("tasks", "--type", NAME, "--json")
    assert done.returncode == 0, done.stderr
    assert [row["name"] for row in json.loads(done.stdout)] == [TASK]


def test_its_rows_features_head_and_loss_run_on_a_tiny_batch(added, cache_root):
    from sweeper.data.features import load_features
    from sweeper.data.sources import make_source
    from sweeper.model.batching import Columns
    from sweeper.model.encoders import load_encoder
    from sweeper.model.heads import MultiTaskModel
    from sweeper.trial.environment import load_tokenizer

    catalog, kind = load_catalog(), added.kind
    tok = load_tokenizer("tiny", catalog, cache_root)
    source = make_source("sample", catalog, cache_root)
    ds = load_features(added, "en", "train", source=source, tokenizer=tok, max_length=64,
                       cache_root=cache_root)
    scores = ds["score"]
    assert len(ds) > 100 and all(0.0 <= s <= 5.0 for s in scores) and len(set(scores)) > 3
    torch.manual_seed(0)
    model = MultiTaskModel(load_encoder("tiny", tok, seed=0, attn="eager"))
    model.add_head(NAME, kind.head(model.encoder, kind.num_outputs(added, [], tok)))
    columns = Columns(ds.select(range(8)), list(kind.train_columns), attention="eager")
    (_, batch), = columns.indexed(batch_size=8, pad_id=tok.pad_token_id, rng=None)
    outputs = kind.outputs(model, NAME, kind.prepare(batch))
    assert outputs.shape == (8,) and batch["score"].dtype == torch.float32
    loss = kind.loss(outputs, batch)
    loss.backward()
    expected = ((outputs.detach() - batch["score"]) ** 2).sum()
    value = float(loss.detach())  # summed over the examples, as the contract asks
    assert torch.isfinite(loss) and value == pytest.approx(float(expected), rel=1e-5)
    dummy = kind.prepare(kind.dummy_batch(4, 16))
    assert dummy["input_ids"].shape == (4, 16) and dummy["score"].shape == (4,)


@pytest.mark.slow
def test_a_tiny_trial_trains_it_before_tatoeba(added, tmp_path):
    from sweeper import tracking
    from sweeper.runner.runs import log_result
    from sweeper.tracking.memory import MemoryStore
    from sweeper.trial.environment import resolve_here
    from sweeper.trial.run import run_trial
    from sweeper.trial.settings import TrialSettings

    settings = TrialSettings.build(targets=["tatoeba"], intermediate=[TASK], model="tiny",
                                   max_train_examples=40, max_eval_examples=20,
                                   target_epochs=1, intermediate_epochs=1,
                                   eval_languages=["en", "de", "sw"], batch_size=8)
    result = run_trial(settings, tmp_path / "trial")
    history = result["training"]["intermediate"]["history"]
    assert history and all(point["loss"] == point["loss"] for point in history)
    assert result["intermediate"] == [TASK]
    assert result["test"]["summary"]["tatoeba"]["avg_metric"] >= 0
    catalog = load_catalog()
    kind = catalog.task("tatoeba").kind  # the target type's protocol note, kept as a tag
    note = kind.protocol(resolve_here(settings, catalog)[0])
    assert "pooling over layer" in note and result["protocols"][kind.name] == note
    tracker = tracking.Tracker(MemoryStore(), "toy")
    run = tracker.start("trial", "k", {})
    log_result(tracker, run, result, tmp_path / "trial")
    assert tracker.run(run).tags[f"{kind.name}_protocol"] == note
