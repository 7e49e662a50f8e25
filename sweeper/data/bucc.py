"""`sweeper data import bucc2018`: the BUCC 2018 release into the local data layout.

XTREME mines BUCC over ALL sentences of the release, gold pairs and the many sentences
without a translation alike; the hub's `google/xtreme` bucc18 configs hold the gold pairs
only, over which mining is nearly trivial. The release ships, per language pair and part,
``<lg>-en.<part>.<lg>`` and ``<lg>-en.<part>.en`` (``ID<TAB>sentence`` per line) and
``<lg>-en.<part>.gold`` (``<lg>-ID<TAB>en-ID``). As XTREME's download script does, the
``sample`` part is the dev split and the ``training`` part the test split (files already
renamed ``dev`` / ``test`` are read too; the official ``test`` part has no gold and cannot
be scored).

Written as ``<out>/bucc2018/<lg>/{validation,test}.parquet`` in the hub's column names
plus the sentence ids: one row per gold pair, then one row per sentence without a
partner (the other side empty). Retrieval mines over every non-empty sentence.
"""

from __future__ import annotations

from pathlib import Path

from sweeper.catalog import Catalog
from sweeper.data.sources import write_rows
from sweeper.errors import DataError

# split we write -> part names of the release that hold it, in order of preference
PARTS = {"validation": ("sample", "dev"), "test": ("training", "test")}


def _find(root: Path, name: str) -> Path | None:
    hits = sorted(root.rglob(name))
    return hits[0] if hits else None


def _read_sentences(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        sid, sep, text = line.partition("\t")
        if not sep or not sid.strip():
            raise DataError(f"{path}:{n}: expected 'ID<TAB>sentence'")
        out[sid.strip()] = text.strip()
    if not out:
        raise DataError(f"{path}: no sentences")
    return out


def _read_gold(path: Path, src: dict[str, str], tgt: dict[str, str]) -> list[tuple[str, str]]:
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2:
            raise DataError(f"{path}:{n}: expected '<lg>-ID<TAB>en-ID'")
        s, t = parts[0].strip(), parts[1].strip()
        if s not in src or t not in tgt:
            raise DataError(f"{path}:{n}: gold pair {s} {t} names a sentence that is not in "
                            "the sentence files")
        pairs.append((s, t))
    if not pairs:
        raise DataError(f"{path}: no gold pairs")
    return pairs


def release_rows(root: Path, lang: str, split: str) -> list[dict[str, str]]:
    """The rows of one language and split of a BUCC 2018 release found under `root`."""
    for part in PARTS[split]:
        stem = f"{lang}-en.{part}"
        files = {ext: _find(root, f"{stem}.{ext}") for ext in (lang, "en", "gold")}
        if files[lang] and files["en"]:
            break
    else:
        wanted = " or ".join(f"{lang}-en.{p}.{{{lang},en,gold}}" for p in PARTS[split])
        raise DataError(f"BUCC release under {root}: no {wanted} for the {split} split")
    if files["gold"] is None:
        raise DataError(f"BUCC release under {root}: {stem}.gold is missing (the {split} "
                        "split needs gold pairs; XTREME's download script deletes its test "
                        "gold, the release's training part has it)")
    src, tgt = _read_sentences(files[lang]), _read_sentences(files["en"])
    gold = _read_gold(files["gold"], src, tgt)
    paired_src, paired_tgt = {s for s, _ in gold}, {t for _, t in gold}
    rows = [_row(lang, s, src[s], t, tgt[t]) for s, t in gold]
    rows += [_row(lang, s, text, "", "") for s, text in src.items() if s not in paired_src]
    rows += [_row(lang, "", "", t, text) for t, text in tgt.items() if t not in paired_tgt]
    return rows


def _row(lang: str, sid: str, source: str, tid: str, target: str) -> dict[str, str]:
    return {"source_id": sid, "source_sentence": source, "target_id": tid,
            "target_sentence": target, "source_lang": lang, "target_lang": "en"}


def import_release(root: str | Path, out: str | Path, languages: list[str]) -> list[Path]:
    """Read the release under `root` for `languages` and write the local layout under
    `out`; every file is checked before anything is written."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"BUCC release folder not found: {root}")
    tables = {(lang, split): release_rows(root, lang, split)
              for lang in languages for split in PARTS}
    written = []
    for (lang, split), rows in tables.items():
        path = Path(out) / "bucc2018" / lang / f"{split}.parquet"
        write_rows(rows, path)
        written.append(path)
    return written


def import_task(catalog: Catalog, task: str, root: str | Path, out: str | Path,
                languages: list[str]) -> list[Path]:
    """`sweeper data import`: the release of `task` (bucc2018) for `languages` (codes or
    groups; none: all of the task's), each checked against the task's languages."""
    spec = catalog.task(task)
    wanted = catalog.expand_languages(languages) if languages else list(spec.languages)
    unknown = [lang for lang in wanted if lang not in spec.languages]
    if unknown:
        raise DataError(f"{task} has no language(s) {', '.join(unknown)} "
                        f"(it has {', '.join(spec.languages)})")
    return import_release(root, out, wanted)
