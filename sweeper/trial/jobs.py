"""What a target is evaluated on: one job per language of its selection (dev) split and
of its test split. Pure: the sweep's preflight and the evaluation stage share it."""

from __future__ import annotations

from dataclasses import dataclass

from sweeper.catalog import Catalog, TaskSpec
from sweeper.trial.resolve import evaluated_languages
from sweeper.trial.settings import TrialSettings


@dataclass(frozen=True)
class EvalJob:
    """One language of one split of a target: `target` gives the head, the metric and the
    export folder; `data` the rows (the target itself, or its selection source)."""

    target: TaskSpec
    data: TaskSpec
    lang: str
    split: str  # the data's split name (validation, test, ...)
    purpose: str  # "dev" (model selection) or "test" (reported): the export file prefix
    # a task whose test items came from this dev set: the articles holding its English
    # contexts are left out (XQuAD's 48 articles of SQuAD v1.1 dev)
    exclude: TaskSpec | None = None


def jobs(catalog: Catalog, target: TaskSpec, langs: tuple[str, ...] | list[str]
         ) -> list[EvalJob]:
    """Dev jobs (the target's selection source, in the languages it has) then test jobs,
    each limited to the evaluated languages `langs`."""
    out: list[EvalJob] = []
    sel = target.selection
    if sel is not None:
        data = catalog.task(sel.task) if sel.task else target
        exclude = catalog.task(sel.exclude) if sel.exclude else None
        out += [EvalJob(target, data, lang, sel.split, "dev", exclude)
                for lang in (sel.languages or target.languages) if lang in langs]
    out += [EvalJob(target, target, lang, target.eval_split, "test") for lang in langs]
    return out


def required_data(settings: TrialSettings, catalog: Catalog, tasks: list[str]
                  ) -> list[tuple[TaskSpec, str, str]]:
    """(task, language, split) of every split a trial with these settings and
    intermediate `tasks` reads: training splits, then each target's dev and test jobs."""
    out: list[tuple[TaskSpec, str, str]] = []
    for name in tasks:
        task = catalog.task(name)
        out.append((task, task.languages[0], "train"))
    for name in settings.targets:
        target = catalog.task(name)
        if target.needs_training:
            source, lang = catalog.train_task(target)
            out.append((source, lang, "train"))
        langs = evaluated_languages(settings, catalog, target)
        for j in jobs(catalog, target, langs):
            out.append((j.data, j.lang, j.split))
            if j.exclude is not None:  # its contexts say which articles to leave out
                out.append((j.exclude, "en", j.exclude.eval_split))
    return out
