"""sweeper: which, and how many, intermediate tasks help zero-shot cross-lingual transfer.

Ray Tune sweeps over intermediate-task sets for a multilingual encoder, each trial
running intermediate training -> English fine-tuning on an XTREME target -> zero-shot
evaluation on every language of that target, all logged to MLflow.
"""

__version__ = "0.1.0"


def results(name: str, *, storage: str = "runs", tracking_uri: str | None = None):
    """A sweep's results table as a pandas DataFrame (one row per trial x target x language
    x split; the columns are documented in `sweeper.report.results.COLUMNS`)."""
    from sweeper.report.render import sweep_table

    return sweep_table(name, tracking_uri=tracking_uri, storage=storage)
