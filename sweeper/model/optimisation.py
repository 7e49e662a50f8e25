"""What both training phases share of the optimiser, as resolved once for a trial
(sweeper.trial.resolve) and handed to the training loop as it is: the learning rate
that reaches AdamW is this object's. Pure module."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Optimisation:
    """What both training phases share."""

    lr: float
    batch_size: int  # the effective batch of the intermediate phase (and default of targets)
    weight_decay: float
    warmup_ratio: float
    max_train_examples: int | None
    precision: str  # fp32 or bf16
