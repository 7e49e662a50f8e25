"""The contract every task type keeps, and what the type modules share.

A task type is everything the pipeline knows about one shape of task, in one module
(`sweeper/tasktypes/<name>.py`, whose `TYPE` is an object behind `TaskType`):

- the canonical columns a catalog entry maps its hub columns onto, and whether the entry
  must give class labels;
- `normalize`: hub-schema rows -> canonical rows (labels as class indices);
- `encode`: canonical rows -> token features (what the training loop batches);
- `head`, `outputs` and `loss`: the layer on top of the shared encoder, its outputs in the
  shape the loss and the predictions use, and the training loss, SUMMED over the items
  of a micro-batch (`loss_items`: examples, or labelled tokens): the training loop
  divides by the items of the whole effective batch;
- `evaluate`: predictions of one evaluation job, written in the XTREME submission layout;
- `score`: how XTREME's scorer reads that layout and computes the metric;
- the facts other modules ask of it instead of naming types: its `family` (the ranking's
  type signal), whether it `trains`, is `labelled`, is the `running_text` pool, its caveats
  (`scores_translations`), a `dummy_batch` (memory probing) and its `protocol` in words.

Type modules import nothing heavy at load (torch and transformers only inside the methods
that need them), so the catalog, which takes its allowed types from the registry, stays
instant. They see tasks, jobs and the trial through the small protocols below, never the
trial's own modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Protocol

from sweeper.errors import DataError

if TYPE_CHECKING:  # pragma: no cover - names for type hints only
    import datasets
    import torch

IGNORE = -100  # label of a position the loss skips


class TaskEntry(Protocol):
    """What a type reads of a catalog entry (sweeper.catalog.TaskSpec)."""

    name: str
    type: str
    metric: str
    columns: dict[str, Any]
    labels: tuple[str, ...]
    label_encoding: str
    null_answers: bool

    @property
    def num_labels(self) -> int: ...


class Job(Protocol):
    """One language of one split of a target (sweeper.trial.jobs.EvalJob)."""

    target: TaskEntry
    data: TaskEntry
    lang: str
    split: str
    kind: str  # "dev" or "test": the export file's prefix
    exclude: TaskEntry | None  # a task whose articles leave this dev set (XQuAD's)


class EvalContext(Protocol):
    """What an evaluator may use of a running trial (sweeper.trial.stages.context)."""

    model: Any  # sweeper.model.heads.MultiTaskModel
    tokenizer: Any
    device: Any
    precision: str
    memo: dict  # what one job leaves for a later one (BUCC's dev threshold)

    def features(self, task: TaskEntry, lang: str, split: str) -> "datasets.Dataset": ...

    def examples(self, task: TaskEntry, lang: str, split: str) -> "datasets.Dataset": ...

    def label_names(self, task: TaskEntry) -> list[str]: ...

    def example_cap(self, n: int) -> int: ...

    def export_paths(self, job: Job) -> tuple[Path, Path]: ...

    def head_name(self, task: TaskEntry) -> str: ...

    def head_outputs(self, kind: "TaskType", task: TaskEntry, ds: Any,
                     batch_size: int | None = None) -> Any: ...

    retrieval_layer: int
    retrieval_pooling: str


class TrialView(Protocol):
    """What a type reads of a resolved trial to name its protocol (sweeper.trial.resolved)."""

    retrieval_layer: int
    retrieval_pooling: str
    facts: Any  # the model's facts (num_layers)


class TaskType:
    """Defaults shared by the types; each module's `TYPE` overrides what differs."""

    name: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]  # canonical columns a catalog entry must map
    metrics: ClassVar[tuple[str, ...]]  # the catalog `metric`s it is scored by
    # format family for the ranking's type signal (sweeper.rank.signals): sentence, span,
    # token or text; a task of the target's family scores 0.5, of its type 1
    family: ClassVar[str]
    optional: ClassVar[tuple[str, ...]] = ()  # canonical columns it may map
    labelled: ClassVar[bool] = True  # the entry gives `labels` (or labels_from_data)
    trains: ClassVar[bool] = True  # has a head and a loss (retrieval trains nothing)
    evaluates: ClassVar[bool] = True  # can be a target (has an evaluator)
    export: ClassVar[str] = "tsv"  # file type of its XTREME submission files
    train_columns: ClassVar[tuple[str, ...]] = ("input_ids", "label")
    text_ids: ClassVar[str] = "input_ids"  # the feature column the ranking samples text from
    loss_items: ClassVar[str] = "examples"  # what the loss sums over: examples or tokens
    uses_doc_stride: ClassVar[bool] = False  # features depend on the QA doc stride
    # its test items are translation pairs (retrieval): training on a translation and
    # its English source shows the model parallel text in that language
    scores_translations: ClassVar[bool] = False
    # its tasks are running text in one language (masked LM): a search space names their
    # pool by this type's name, the labelled pools leave them out, and the ranking gives
    # them a small type signal (0.25) for any target
    running_text: ClassVar[bool] = False
    # synthetic-row generators this type brings for the sample data: skill -> fn(writer,
    # task, index) returning a canonical row (see sweeper.data.sample.generator)
    sample_skills: ClassVar[dict[str, Callable[..., dict]]] = {}

    # --- data -----------------------------------------------------------------------
    def normalize(self, task: TaskEntry, batch: dict[str, list], tag_names: list[str]
                  ) -> dict[str, list]:
        """Hub-schema rows -> canonical columns; labels become class indices (-1: none)."""
        out: dict[str, list] = {}
        for canon, path in task.columns.items():
            values = column(batch, path, task)
            out[canon] = [label_index(task, x) for x in values] if canon == "label" else values
        return out

    def encode(self, task: TaskEntry, batch: dict[str, list], tokenizer: Any, *,
               max_length: int, doc_stride: int) -> dict[str, list]:
        raise NotImplementedError(f"task type '{self.name}' encodes no features")

    # --- model ----------------------------------------------------------------------
    def num_outputs(self, task: TaskEntry, labels: list[str], tokenizer: Any) -> int:
        """Size of the head's output: the number of classes."""
        return len(labels)

    def head(self, encoder: Any, num_outputs: int) -> "torch.nn.Module | None":
        return None

    def prepare(self, batch: dict[str, Any]) -> dict[str, Any]:
        """What a training batch needs beyond its columns, computed on the host before
        it is copied to the device (masked LM: where the masks are)."""
        return batch

    def outputs(self, model: Any, head: str, batch: dict[str, Any]) -> "torch.Tensor":
        """Head outputs in the shape the loss and the predictions use."""
        return model(head, batch["input_ids"], batch["attention_mask"])

    def loss(self, outputs: "torch.Tensor", batch: dict[str, Any]) -> "torch.Tensor":
        """Cross-entropy of the class scores against `label`, summed over examples."""
        import torch

        return torch.nn.functional.cross_entropy(outputs.float(), batch["label"],
                                                 reduction="sum")

    def dummy_batch(self, size: int, length: int) -> dict[str, Any]:
        """A training batch of `size` examples of `length` tokens for memory probing, on the
        host and before `prepare`: every target column at zero (every token labelled, the
        most a token-level loss can cost)."""
        import torch

        batch: dict[str, Any] = {"input_ids": torch.full((size, length), 5),
                                 "attention_mask": None}
        for name in self.train_columns:
            if name == "labels":
                batch[name] = torch.zeros((size, length), dtype=torch.long)
            elif name != "input_ids":
                batch[name] = torch.zeros(size, dtype=torch.long)
        return batch

    # --- evaluation -----------------------------------------------------------------
    def protocol(self, trial: TrialView) -> str:
        """The evaluation choices its numbers depend on, in words ("": none beyond the
        target's protocol); recorded with a trial's results and in the report."""
        return ""

    def evaluate(self, ctx: EvalContext, job: Job) -> dict:
        raise NotImplementedError(f"task type '{self.name}' has no evaluator")

    def caveat(self, reports: list[dict]) -> str:
        """Why its numbers differ in kind from XTREME's, read from what `evaluate` returned
        per language and split ("": they do not); recorded beside the numbers."""
        return ""

    def score(self, task: TaskEntry, lang: str, predictions: Path, labels: Path
              ) -> dict[str, float]:
        """XTREME's metric over one language's prediction and label files."""
        raise NotImplementedError(f"task type '{self.name}' is not scored")

    def __repr__(self) -> str:
        return f"<task type {self.name}>"


# --- helpers the type modules share ------------------------------------------------

def column(batch: dict[str, list], path: str, task: TaskEntry) -> list[Any]:
    """A mapped column: `name`, or `outer.inner` for a nested field."""
    outer, _, inner = path.partition(".")
    if outer not in batch:
        raise DataError(f"task '{task.name}': column '{outer}' not in data "
                        f"(has {', '.join(sorted(batch))})")
    values = batch[outer]
    return [v[inner] for v in values] if inner else values


def label_index(task: TaskEntry, raw: Any) -> int:
    """A raw label as a class index of `task`; -1 for a row without a usable label."""
    if raw is None:
        return -1
    if task.label_encoding == "name":
        return task.labels.index(str(raw)) if str(raw) in task.labels else -1
    value = int(raw)
    return value if 0 <= value < task.num_labels else -1


def read_lines(path: Path) -> list[str]:
    """One item per line, as XTREME's evaluate.py reads its tsv files."""
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f]


def write_lines(path: Path, lines: Any) -> None:
    """One item per line (labels, BUCC pairs, Tatoeba indices)."""
    write_text(path, "".join(f"{x}\n" for x in lines))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def same_length(predictions: Path, labels: Path, preds: list, gold: list) -> None:
    """XTREME's scorer needs one prediction per gold item."""
    if len(preds) != len(gold):
        raise DataError(f"{predictions} has {len(preds)} examples but {labels} has {len(gold)}")
    if not gold:
        raise DataError(f"{labels} is empty")
