"""A catalog entry read by pydantic: each kind of mistake is one line naming the task and
the field, and a good entry reads into the same TaskSpec whatever form its lists take."""

from __future__ import annotations

import pytest

from sweeper.catalog.entries import parse_task
from sweeper.errors import ConfigError

GOOD = {"name": "toy_nli", "role": "intermediate", "type": "pair_classification",
        "metric": "accuracy", "languages": ["en"], "license": "CC-BY-4.0",
        "columns": {"text_a": "a", "text_b": "b", "label": "c"},
        "labels": ["x", "y"], "hub": {"id": "org/toy", "splits": {"train": "train"}},
        "sample": {"skill": "nli"}}


def test_a_good_entry_reads_scalars_as_one_element_lists():
    spec = parse_task(dict(GOOD), "english_intermediate")
    assert spec.hub[0].splits == {"train": ("train",)} and spec.languages == ("en",)
    assert spec.group == "english_intermediate" and spec.labels == ("x", "y")
    assert parse_task({**GOOD, "languages": "en"}, "g").languages == ("en",)


@pytest.mark.parametrize("change, message", [
    ({"colour": "blue"}, "unknown field(s) ['colour']"),
    ({"role": "teacher"}, "role 'teacher' is not one of"),
    ({"type": "poetry"}, "type 'poetry' is not one of"),
    ({"metric": "bleu"}, "metric 'bleu' is not one of"),
    ({"columns": {"text_a": "a"}}, "missing ['text_b', 'label']"),
    ({"labels": []}, "needs a `labels` list"),
    ({"license": "CC BY"}, "license 'CC BY' is not an SPDX id"),
    ({"sample": {"skill": "juggling"}}, "sample skill 'juggling'"),
    ({"max_length": "long"}, "max_length"),
    ({"group": "x"}, "unknown field(s) ['group']"),
    ({"role": "target"}, "a target needs `selection`"),
    ({"role": "target", "selection": None}, "a target needs a category"),
])
def test_each_mistake_is_one_line_naming_task_and_field(change, message):
    with pytest.raises(ConfigError) as caught:
        parse_task({**GOOD, **change}, "g")
    text = str(caught.value)
    assert text.startswith("catalog task 'toy_nli': ") and message in text, text
    assert "\n" not in text


def test_a_missing_field_is_named():
    entry = dict(GOOD)
    del entry["metric"]
    with pytest.raises(ConfigError, match="missing required field 'metric'"):
        parse_task(entry, "g")
