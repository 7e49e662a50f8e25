"""Features for tagging and extractive QA, where one example may span several windows.

Tagging: every word is split into sub-tokens; its tag sits on the FIRST sub-token and
the others are ignored in the loss (-100). A sentence longer than the model's window is
cut at word boundaries into consecutive windows (never truncated); `word_pos` gives
the position of each word's first sub-token so predictions map back to one tag per
word. QA: question + context windows with `doc_stride` overlap and offset mappings back
to the context's characters; the answer's first/last sub-tokens are the targets, or
the <s> token when the answer is not inside the window (or there is none: SQuAD v2).
"""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from sweeper.catalog import TaskSpec

IGNORE = -100


def word_pieces(words: list[str], tok: PreTrainedTokenizerBase) -> list[list[int]]:
    """Sub-token ids of each word (an empty result becomes <unk>, so no word is lost)."""
    if not words:
        return []
    ids = tok(words, add_special_tokens=False)["input_ids"]
    return [x if x else [tok.unk_token_id] for x in ids]


def tag_windows(pieces: list[list[int]], tags: list[int], max_length: int
                ) -> list[tuple[int, list[int], list[int], list[int]]]:
    """Split one sentence into windows: (first word, input_ids, labels, word_pos).

    Windows hold whole words (a single over-long word keeps its first pieces) and
    leave room for <s> and </s>, added by the caller.
    """
    room = max_length - 2
    windows, start = [], 0
    while start < len(pieces) or (start == 0 and not pieces):
        ids: list[int] = []
        labels: list[int] = []
        pos: list[int] = []
        end = start
        while end < len(pieces):
            piece = pieces[end][:room]
            if ids and len(ids) + len(piece) > room:
                break
            pos.append(len(ids) + 1)  # +1 for <s>
            labels += [tags[end]] + [IGNORE] * (len(piece) - 1)
            ids += piece
            end += 1
        windows.append((start, ids, labels, pos))
        if end == start:  # empty sentence
            break
        start = end
    return windows


def encode_tags(batch: dict, tok: PreTrainedTokenizerBase, max_length: int) -> dict:
    out: dict[str, list] = {"input_ids": [], "labels": [], "example": [], "word_offset": [],
                            "word_pos": []}
    base = batch.get("_index") or range(len(batch["tokens"]))
    for i, words, tags in zip(base, batch["tokens"], batch["tags"]):
        for first, ids, labels, pos in tag_windows(word_pieces(words, tok), tags, max_length):
            out["input_ids"].append([tok.cls_token_id] + ids + [tok.sep_token_id])
            out["labels"].append([IGNORE] + labels + [IGNORE])
            out["example"].append(i)
            out["word_offset"].append(first)
            out["word_pos"].append(pos)
    return out


def answer_span(offsets: list, seq_ids: list, start_char: int, end_char: int
                ) -> tuple[int, int]:
    """Token span of [start_char, end_char) inside the window's context, else (0, 0)."""
    ctx = [i for i, s in enumerate(seq_ids) if s == 1]
    if not ctx or offsets[ctx[0]][0] > start_char or offsets[ctx[-1]][1] < end_char:
        return 0, 0
    start = next(i for i in ctx if offsets[i][1] > start_char)
    end = next(i for i in reversed(ctx) if offsets[i][0] < end_char)
    return start, end


def encode_qa(batch: dict, tok: PreTrainedTokenizerBase, max_length: int, stride: int) -> dict:
    questions = [q.lstrip() for q in batch["question"]]
    enc = tok(questions, batch["context"], truncation="only_second", max_length=max_length,
              stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)
    out: dict[str, list] = {"input_ids": [], "start_positions": [], "end_positions": [],
                            "example_id": [], "offsets": []}
    for w, ids in enumerate(enc["input_ids"]):
        ex = enc["overflow_to_sample_mapping"][w]
        seq_ids = enc.sequence_ids(w)
        offsets = enc["offset_mapping"][w]
        answers = batch["answers"][ex]
        if answers["text"]:
            start_char = answers["answer_start"][0]
            s, e = answer_span(offsets, seq_ids, start_char, start_char + len(answers["text"][0]))
        else:
            s, e = 0, 0
        out["input_ids"].append(ids)
        out["start_positions"].append(s)
        out["end_positions"].append(e)
        out["example_id"].append(batch["id"][ex])
        out["offsets"].append([list(o) if sid == 1 else [-1, -1]
                               for o, sid in zip(offsets, seq_ids)])
    return out


def encode(task: TaskSpec, batch: dict, tok: PreTrainedTokenizerBase, *, max_length: int,
           doc_stride: int = 128) -> dict:
    """Window features of a batch of canonical tagging or QA rows."""
    if task.type == "token_classification":
        return encode_tags(batch, tok, max_length)
    stride = min(doc_stride, max_length // 2)
    return encode_qa(batch, tok, max_length, stride)
