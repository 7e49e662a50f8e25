"""Deterministic generator of small SYNTHETIC data in the exact hub schemas.

`generate(task, lang, split, ...)` returns rows shaped like the hub dataset the
catalog names for `task` (same column names, label encodings, nested fields), so the
sample data flows through exactly the code that real data does. Nothing here is real
text: the words are pseudo-words from `sweeper.data.world`.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from sweeper.catalog import TaskSpec
from sweeper.data.sample import world
from sweeper.data.sample.world import by_role, lexicon
from sweeper.digest import seeded

SAMPLE_VERSION = "6"  # 6: BUCC in the release layout (sentences without a partner too)
ROW_SEED = "5"  # seeds the rows; unchanged since version 5, so other tasks' rows are too
SIZES = {"train": 1200, "validation": 150, "test": 250}
RETRIEVAL_SIZE = 120
LABEL_NOISE = 0.08
VALENCE_LABEL = {"pos": 0, "neu": 1, "neg": 2}  # index in NLI label lists


class _Writer:
    """Turns concept ids into words of one language; picks cues for one split."""

    def __init__(self, lang: str, tier: str, rng: random.Random, restrict: frozenset[int] | None):
        self.lex = lexicon(lang, tier)
        self.rng = rng
        self.restrict = restrict
        self.fillers = [c.id for c in by_role("filler")]

    def words(self, ids: list[int]) -> list[str]:
        return [self.lex[i] for i in ids]

    def text(self, ids: list[int]) -> str:
        return " ".join(self.words(ids))

    def filler(self, lo: int, hi: int) -> list[int]:
        return [self.rng.choice(self.fillers) for _ in range(self.rng.randint(lo, hi))]

    def cue(self, role: str, value: str) -> int:
        pool = [c.id for c in by_role(role, value)]
        if self.restrict is not None:
            pool = [i for i in pool if i in self.restrict] or pool
        return self.rng.choice(pool)

    def insert(self, ids: list[int], cue: int) -> list[int]:
        out = list(ids)
        out.insert(self.rng.randrange(len(out) + 1), cue)
        return out

    def noisy(self, label: int, n: int) -> int:
        return self.rng.randrange(n) if self.rng.random() < LABEL_NOISE else label


def _nli(w: _Writer, task: TaskSpec, i: int) -> dict:
    valence = w.rng.choice(world.VALENCES)
    premise = w.filler(5, 8)
    hyp = w.rng.sample(premise, 2) + [w.cue("valence", valence)] + w.filler(0, 1)
    w.rng.shuffle(hyp)
    label = w.noisy(VALENCE_LABEL[valence], 3)
    return {"text_a": w.text(premise), "text_b": w.text(hyp), "label": label}


def _paraphrase(w: _Writer, task: TaskSpec, i: int) -> dict:
    positive = w.rng.random() < 0.5
    s1 = w.filler(5, 8)
    s2 = list(s1)
    w.rng.shuffle(s2)
    s2 = w.insert(s2, w.cue("valence", "pos" if positive else "neg"))
    return {"text_a": w.text(s1), "text_b": w.text(s2), "label": w.noisy(int(positive), 2)}


VALENCE_NAMES = {"positive": "pos", "negative": "neg", "neutral": "neu"}


def _sentiment(w: _Writer, task: TaskSpec, i: int) -> dict:
    """A valence cue, labelled by the task's own name for it (positive, negative and,
    where the task has it, neutral; without such names: 0 negative, 1 positive)."""
    index = {VALENCE_NAMES[n.lower()]: k for k, n in enumerate(task.labels)
             if n.lower() in VALENCE_NAMES}
    if "neu" in index:
        valence = w.rng.choice(("pos", "neu", "neg"))
    else:
        valence = "pos" if w.rng.random() < 0.5 else "neg"
    ids = w.insert(w.filler(4, 8), w.cue("valence", valence))
    label = index.get(valence, int(valence == "pos"))
    return {"text": w.text(ids), "label": w.noisy(label, task.num_labels)}


def _topic(w: _Writer, task: TaskSpec, i: int) -> dict:
    topic = w.rng.randrange(task.num_labels)
    ids = w.insert(w.filler(4, 8), w.cue("topic", str(topic % world.N_TOPICS)))
    return {"text": w.text(ids), "label": w.noisy(topic, task.num_labels)}


def _choice(w: _Writer, task: TaskSpec, i: int) -> dict:
    n = task.num_labels
    gold = w.rng.randrange(n)
    choices = []
    for j in range(n):
        valence = "pos" if j == gold else w.rng.choice(("neu", "neg"))
        choices.append(w.text(w.insert(w.filler(2, 3), w.cue("valence", valence))))
    return {"context": w.text(w.filler(5, 8)), "question": w.text(w.filler(2, 4)),
            "choices": choices, "label": gold}


def _text(w: _Writer, task: TaskSpec, i: int) -> dict:
    """Running text of one language (for masked language modelling): filler words with
    the cues of every skill mixed in, as a web corpus mixes topics."""
    ids = w.filler(6, 14)
    for role in ("valence", "topic", "entity"):
        if w.rng.random() < 0.5 and by_role(role):
            ids = w.insert(ids, w.rng.choice([c.id for c in by_role(role)]))
    return {"text": w.text(ids)}


def _translation(w: _Writer, task: TaskSpec, i: int, english: _Writer) -> dict:
    ids = w.filler(5, 9)
    ids = w.insert(ids, w.rng.choice([c.id for c in by_role("valence")]))
    return {"source": w.text(ids), "target": english.text(ids)}


SKILLS: dict[str, Callable[..., dict]] = {
    "nli": _nli, "paraphrase": _paraphrase, "sentiment": _sentiment, "topic": _topic,
    "choice": _choice, "text": _text,
}


def _to_hub(task: TaskSpec, row: dict, lang: str) -> dict[str, Any]:
    """Map a canonical row onto the task's hub column names and label encoding."""
    out: dict[str, Any] = {}
    for canon, value in row.items():
        if canon not in task.columns:  # e.g. hellaswag has no separate question
            continue
        if canon == "label" and task.label_encoding == "name":
            value = task.labels[value]
        target = task.columns[canon]
        if isinstance(target, list):  # one column per choice (cosmos_qa's answer0..3)
            for col, v in zip(target, value):
                out[col] = v
        elif "." in target:  # nested field (commonsense_qa's choices.text)
            outer, inner = target.split(".", 1)
            out.setdefault(outer, {})[inner] = value
            if outer == "choices":
                out[outer]["label"] = list(task.labels[: len(value)])
        else:
            out[target] = value
    for src in task.hub[:1]:
        for col, template in src.filter.items():
            out[col] = template.format(lang=lang)
    # translation pairs name both their languages, as the hub's bucc18 / tatoeba configs do
    if task.sample.get("skill") == "translation":
        out["source_lang"], out["target_lang"] = lang, "en"
    return out


def _release(pairs: list[dict], task: TaskSpec, lang: str, w: _Writer, english: _Writer
             ) -> list[dict[str, Any]]:
    """BUCC as its release holds it (data/bucc.py's layout): the gold pairs, then half as
    many sentences on each side without a partner; ids numbered in a shuffled order."""
    extra = [_to_hub(task, _translation(w, task, i, english), lang)
             for i in range(RETRIEVAL_SIZE)]
    half = RETRIEVAL_SIZE // 2
    src_only = [{**r, "target_sentence": ""} for r in extra[:half]]
    tgt_only = [{**r, "source_sentence": ""} for r in extra[half:]]
    n_src, n_tgt = len(pairs) + len(src_only), len(pairs) + len(tgt_only)
    src_ids, tgt_ids = w.rng.sample(range(n_src), n_src), w.rng.sample(range(n_tgt), n_tgt)
    rows = pairs + src_only + tgt_only
    for row in rows:
        has_src, has_tgt = bool(row["source_sentence"]), bool(row["target_sentence"])
        row["source_id"] = f"{lang}-{src_ids.pop():06d}" if has_src else ""
        row["target_id"] = f"en-{tgt_ids.pop():06d}" if has_tgt else ""
    return rows


def generate(task: TaskSpec, lang: str, split: str, tier: str, *, restrict_cues: bool = False,
             id_prefix: str = "") -> list[dict[str, Any]]:
    """Rows of `task` in `lang` for logical split `split`, in the task's hub schema.

    `restrict_cues` limits a target's English training data to half of the cue
    concepts (see world.seen_cues) so that intermediate tasks have something to add.
    `id_prefix` starts every QA id (TyDiQA tells languages apart by it).
    """
    skill = task.sample["skill"]
    rng = seeded("sample", ROW_SEED, task.name, lang, split)
    restrict = world.seen_cues(task.name) if restrict_cues else None
    w = _Writer(lang, tier, rng, restrict)
    if skill == "translation":
        english = _Writer("en", "high", rng, None)
        rows = [_translation(w, task, i, english) for i in range(RETRIEVAL_SIZE)]
        if task.metric == "bucc_f1":
            return _release([_to_hub(task, row, lang) for row in rows], task, lang, w, english)
    elif skill in SKILLS or skill in task.kind.sample_skills:
        make = SKILLS.get(skill) or task.kind.sample_skills[skill]
        rows = [make(w, task, i) for i in range(SIZES.get(split, SIZES["test"]))]
    else:
        from sweeper.data.sample import structured as sample_structured

        rows = sample_structured.generate_rows(skill, w, task, id_prefix or f"{lang}-", split)
    return [_to_hub(task, row, lang) for row in rows]
