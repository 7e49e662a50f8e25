"""The one way sweeper's searchers save their state with a sweep: all their attributes,
pickled (restored on `sweeper resume`, once the storage passed sweeper.runner.trust)."""

from __future__ import annotations

import pickle
from pathlib import Path

from ray.tune.search import Searcher


class SavedState(Searcher):
    """A searcher whose whole state is its attributes (saved with a sweep, restored on
    `sweeper resume`)."""

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__dict__, f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__dict__.update(pickle.load(f))
        self.restored(Path(checkpoint_path).parent)

    def restored(self, folder: Path) -> None:
        """Once restored from `folder` (where Tune put the sweep's state files): a wrapper
        passes it on to the searcher it wraps (`inner`); see GridSearch."""
        inner = getattr(self, "inner", None)
        if isinstance(inner, SavedState):
            inner.restored(folder)
