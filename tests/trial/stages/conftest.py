"""A trial's context as its steps see it: settings resolved here, the sample data, the
tiny model on the CPU, an output folder."""

from __future__ import annotations

from typing import Callable

import pytest
import torch

from sweeper.model.encoders import load_encoder
from sweeper.model.heads import MultiTaskModel
from sweeper.trial.environment import resolve_here
from sweeper.trial.settings import TrialSettings
from sweeper.trial.stages.context import TrialContext

SMALL = dict(model="tiny", data="sample", eval_languages=["en", "sw"], max_eval_examples=8,
             max_train_examples=16, batch_size=16, target_epochs=1.0)


class Curve:
    """The training curve a context's steps log: (stage, step, values) points."""

    def __init__(self) -> None:
        self.points: list[tuple[str, int, dict]] = []

    def __call__(self, stage: str, step: int, values: dict) -> None:
        self.points.append((stage, step, values))


@pytest.fixture()
def make_context(catalog, tmp_path) -> Callable[..., TrialContext]:
    """A context for settings `SMALL` with `values` on top; its `on_log` is a Curve."""
    def make(**values) -> TrialContext:
        settings = TrialSettings.build(**{**SMALL, **values})
        resolved, env = resolve_here(settings, catalog)
        model = MultiTaskModel(load_encoder(resolved.model, env.tokenizer, resolved.seed))
        ctx = TrialContext(settings=resolved, catalog=catalog, source=env.source,
                           tokenizer=env.tokenizer, device=torch.device("cpu"),
                           precision=resolved.training.precision, out_dir=tmp_path,
                           model=model, on_log=Curve())
        return ctx

    return make
