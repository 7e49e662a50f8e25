"""sweeper: which, and how many, intermediate tasks help zero-shot cross-lingual transfer.

Ray Tune sweeps over intermediate-task sets for a multilingual encoder, each trial
running intermediate training -> English fine-tuning on an XTREME target -> zero-shot
evaluation on every language of that target, all logged to MLflow.
"""

__version__ = "0.1.0"
