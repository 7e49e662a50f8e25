"""What a run's params say of its trial: the mix a task set is labelled with."""

from __future__ import annotations

from sweeper.trial.params import mix_of


def test_mix_label_from_composition(catalog):
    assert mix_of(["mnli", "qqp"], catalog) == "english"
    assert mix_of(["xnli_de"], catalog) == "non_english"
    assert mix_of(["mnli", "klue_nli"], catalog) == "mixed"
