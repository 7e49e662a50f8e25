"""The SYNTHETIC world behind the `sample` data: concepts, their roles, and lexicons.

Every language names each concept with a pseudo-word. A concept's word in language L
is the English word with a probability that falls with L's resource tier (shared
vocabulary), otherwise a word of L's own. An English-trained model therefore scores
well above chance in English, above chance in high-tier languages and lower in
low-tier ones: the graded transfer the real benchmark shows, in miniature.

Labels come from "cue" concepts (valence, topic, entity type, part of speech) that all
tasks share, so intermediate training on one task teaches skills another can use.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from sweeper.digest import seeded

# Probability that a concept's word is shared with English, by resource tier.
SHARE_BY_TIER = {"high": 0.75, "mid": 0.55, "low": 0.35}
VALENCES = ("pos", "neu", "neg")
N_TOPICS = 7
ENTITY_TYPES = ("PER", "ORG", "LOC", "DATE")
# Parts of speech of filler concepts (UPOS, as in udpos), with how many of each.
FILLER_POS = {"NOUN": 60, "VERB": 40, "ADJ": 25, "ADV": 12, "ADP": 10, "DET": 6, "PRON": 8,
              "AUX": 5, "CCONJ": 3, "NUM": 10, "PART": 4, "SCONJ": 3, "PROPN": 0, "PUNCT": 0,
              "INTJ": 2, "SYM": 0, "X": 0}
N_SUPERTAGS = 24
CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


@dataclass(frozen=True)
class Concept:
    """One meaning. `role` says which skill it carries; `value` the class it signals."""

    id: int
    role: str  # filler | valence | topic | entity | qword | punct
    value: str  # pos tag for fillers, valence, topic index, entity type, ...
    pos: str  # UPOS tag used by the tagging tasks
    supertag: str


@functools.lru_cache(maxsize=1)
def concepts() -> tuple[Concept, ...]:
    """The fixed concept inventory shared by every language and task."""
    rng = seeded("concepts")
    out: list[Concept] = []

    def add(role: str, value: str, pos: str) -> None:
        out.append(Concept(len(out), role, value, pos, f"S{rng.randrange(N_SUPERTAGS)}"))

    for pos, n in FILLER_POS.items():
        for _ in range(n):
            add("filler", pos, pos)
    for v in VALENCES:
        for _ in range(36):
            add("valence", v, rng.choice(["ADJ", "VERB", "ADV"]))
    for t in range(N_TOPICS):
        for _ in range(8):
            add("topic", str(t), "NOUN")
    for e in ENTITY_TYPES:  # name endings: PER/ORG/LOC/DATE names end in a type suffix
        add("suffix", e, "X")
    for e in ENTITY_TYPES:  # words that often precede a name of one type ("Mr.", "in", "on")
        add("marker", e, "ADP")
    for e in ENTITY_TYPES:
        for _ in range(30):
            add("entity", e, "NUM" if e == "DATE" else "PROPN")
    for _ in range(4):
        add("qword", "q", "PRON")
    add("punct", ".", "PUNCT")
    add("punct", "?", "PUNCT")
    return tuple(out)


@functools.lru_cache(maxsize=None)
def by_role(role: str, value: str | None = None) -> tuple[Concept, ...]:
    """The concepts of a role (and value): asked for every generated row, so cached."""
    return tuple(c for c in concepts() if c.role == role and (value is None or c.value == value))


def _pseudo_word(rng: random.Random, consonants: str, vowels: str,
                 syllables: int | None = None) -> str:
    syllables = syllables or rng.choice((2, 2, 3, 3, 4))
    return "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))


@functools.lru_cache(maxsize=128)
def lexicon(lang: str, tier: str) -> tuple[str, ...]:
    """Word for every concept in `lang` (index = concept id). English is the pivot."""
    out: list[str] = []
    used: set[str] = set()
    if lang == "en":
        rng = seeded("lexicon", "en")
        cons, vows = CONSONANTS, VOWELS
    else:
        rng = seeded("lexicon", lang)
        cons = "".join(sorted(rng.sample(CONSONANTS, 12)))
        vows = "".join(sorted(rng.sample(VOWELS + "y", 4)))
    english = None if lang == "en" else lexicon("en", "high")
    share = 1.0 if lang == "en" else SHARE_BY_TIER[tier]
    suffix: dict[str, str] = {}
    for c in concepts():
        if c.role == "punct":
            out.append(c.value)
            continue
        if english is not None and rng.random() < share:
            word = english[c.id]
            if c.role == "entity":  # the English stem with this language's ending
                word = word[: -len(_english_suffix(c.value))] + suffix[c.value]
            out.append(word)
            if c.role == "suffix":
                suffix[c.value] = word
            continue
        syllables = 1 if c.role == "suffix" else None
        word = _pseudo_word(rng, cons, vows, syllables)
        if c.role == "entity":
            word += suffix[c.value]
        while word in used or (english is not None and word in english):
            word = _pseudo_word(rng, cons, vows, syllables)
            if c.role == "entity":
                word += suffix[c.value]
        used.add(word)
        out.append(word)
        if c.role == "suffix":
            suffix[c.value] = word
    return tuple(out)


def _english_suffix(entity_type: str) -> str:
    en = lexicon("en", "high")
    return en[by_role("suffix", entity_type)[0].id]


@functools.lru_cache(maxsize=256)
def seen_cues(task: str) -> frozenset[int]:
    """The half of the cue concepts a target's English training data uses.

    Test sets use all cues, so what a target's own training never shows has to come
    from elsewhere: from intermediate tasks, which use every cue.
    """
    rng = seeded("seen", task)
    keep: set[int] = set()
    for role in ("valence", "topic", "entity"):
        for c in by_role(role):
            if rng.random() < 0.5:
                keep.add(c.id)
    return frozenset(keep)
