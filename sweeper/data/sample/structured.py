"""SYNTHETIC tagging and QA rows (udpos, panx, ccg, SQuAD-style QA) for the sample data.

Same world and lexicons as `sample`: a word's tag is its concept's tag in every
language, so tagging transfers through shared words; a question asks for the entity
of one type in its context, so the answer span is learnable from the words alone.
"""

from __future__ import annotations

from typing import Any

from sweeper.catalog import TaskSpec
from sweeper.data.sample import world
from sweeper.data.sample.world import by_role

TAGGING_SKILLS = ("pos", "ner", "supertag")  # the other structured skill: questions
TAGGING_SIZES = {"train": 600, "validation": 100, "test": 120}
QA_SIZES = {"train": 1500, "validation": 120, "test": 120}
QWORD_TYPES = ("PER", "ORG", "LOC", "DATE")  # the i-th question word asks for this type


def _entity(w: Any, etype: str) -> list[int]:
    """A one- or two-word name of type `etype` (two different words)."""
    first = w.cue("entity", etype)
    if w.rng.random() < 0.67:
        return [first]
    second = w.cue("entity", etype)
    return [first] if second == first else [first, second]


def _marker(etype: str) -> int:
    return by_role("marker", etype)[0].id


def _sentence(w: Any, n_entities: int, types: tuple[str, ...]) -> list[tuple[int, str]]:
    """Concept ids with an entity tag each (O, B-X, I-X); ends with a full stop."""
    out: list[tuple[int, str]] = [(i, "O") for i in w.filler(5, 10)]
    for _ in range(n_entities):
        etype = w.rng.choice(types)
        span = _entity(w, etype)
        at = w.rng.randrange(len(out) + 1)
        tagged = [(span[0], f"B-{etype}")] + [(c, f"I-{etype}") for c in span[1:]]
        if w.rng.random() < 0.5:
            tagged.insert(0, (_marker(etype), "O"))
        out[at:at] = tagged
    if w.rng.random() < 0.5:
        at = w.rng.randrange(len(out) + 1)  # drawn before the cue, as the rows were made
        out.insert(at, (w.cue("valence", w.rng.choice(world.VALENCES)), "O"))
    return out + [(by_role("punct", ".")[0].id, "O")]


def _tagging(skill: str, w: Any, task: TaskSpec, n: int) -> list[dict]:
    labels = list(task.labels)
    types = tuple(t for t in world.ENTITY_TYPES if f"B-{t}" in labels) or ("PER",)
    concepts = world.concepts()
    rows = []
    for _ in range(n):
        sent = _sentence(w, w.rng.choice((0, 1, 1, 2)), types)
        ids = [c for c, _ in sent]
        if skill == "ner":
            tags = [labels.index(t) for _, t in sent]
        elif skill == "pos":
            tags = [labels.index(concepts[c].pos) for c in ids]
        else:  # supertag: tag strings, label set read from the data
            tags = [concepts[c].supertag for c in ids]
        rows.append({"tokens": w.words(ids), "tags": tags})
    return rows


def _qa(w: Any, task: TaskSpec, n: int, id_prefix: str, split: str) -> list[dict]:
    unanswerable = float(task.sample.get("unanswerable", 0.0))
    qwords = by_role("qword")
    rows = []
    for i in range(n):
        asked = w.rng.randrange(len(QWORD_TYPES))
        present = [t for t in QWORD_TYPES if w.rng.random() < 0.5 or t == QWORD_TYPES[asked]]
        if w.rng.random() < unanswerable:
            present = [t for t in present if t != QWORD_TYPES[asked]] or ["PER" if asked else "ORG"]
        words: list[str] = []
        answer: tuple[int, str] | None = None
        for t in w.rng.sample(present, len(present)):
            sentence = w.words(w.filler(3, 6))
            span = w.words(_entity(w, t))
            at = w.rng.randrange(len(sentence) + 1)
            before = " ".join(words + sentence[:at] + w.words([_marker(t)]))
            start = len(before) + 1
            if t == QWORD_TYPES[asked]:
                answer = (start, " ".join(span))
            words += sentence[:at] + w.words([_marker(t)]) + span + sentence[at:] + ["."]
        asked_words = [qwords[asked].id, _marker(QWORD_TYPES[asked])]
        question = w.words(asked_words + w.filler(1, 3)) + ["?"]
        answers = ({"text": [answer[1]], "answer_start": [answer[0]]} if answer
                   else {"text": [], "answer_start": []})
        rows.append({"id": f"{id_prefix}{split}-{i:05d}", "context": " ".join(words),
                     "question": " ".join(question), "answers": answers,
                     "title": f"{task.name}-{split}-article-{i // 5}"})  # 5 per article
    return rows


def generate_rows(skill: str, w: Any, task: TaskSpec, id_prefix: str, split: str) -> list[dict]:
    """Canonical rows for the structured skills: a tagging skill (TAGGING_SKILLS), else
    the one other, SQuAD-style questions with answer spans (catalog skill `qa`)."""
    if skill in TAGGING_SKILLS:
        return _tagging(skill, w, task, TAGGING_SIZES.get(split, TAGGING_SIZES["test"]))
    return _qa(w, task, QA_SIZES.get(split, QA_SIZES["test"]), id_prefix, split)
