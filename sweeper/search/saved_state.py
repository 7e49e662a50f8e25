"""The one way sweeper's searchers save their state with a sweep: all their attributes,
pickled (restored on `sweeper resume`, once the storage passed sweeper.runner.trust)."""

from __future__ import annotations

import pickle
from pathlib import Path

from ray.tune.search import Searcher

from sweeper.search.restored import RestoredTrial, restored_trials


class SavedState(Searcher):
    """A searcher whose whole state is its attributes (saved with a sweep, restored on
    `sweeper resume`)."""

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(pickle.load(f))
        trials = restored_trials(Path(checkpoint_path).parent)  # Tune put its state there
        if trials is not None:
            self.restored(trials)

    def restored(self, trials: list[RestoredTrial]) -> None:
        """Once restored, the trials Tune restored with it (read once, here): a wrapper
        passes them on to the searcher it wraps (`inner`); see GridSearch."""
        inner = getattr(self, "inner", None)
        if isinstance(inner, SavedState):
            inner.restored(trials)
