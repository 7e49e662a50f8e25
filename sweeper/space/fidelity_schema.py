"""The shape of a search-space file's `fidelity:` block, checked by pydantic, and the
typed ladder it stands for (sweeper.space.fidelity).

```yaml
fidelity:
  rungs:
    - {name: screen, model: tiny, budget_share: 0.25, promote: {top: 0.5}}
    - {name: full, model: small}
  audit: {share: 0.1, min: 3}
```

A rung changes only the encoder, the share of the intermediate budget, the evaluation
languages and the target epochs; everything else (targets above all: the rungs must
answer the same question) comes from the space. Pure module: no torch, ray or mlflow.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Annotated, Any, Callable, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from sweeper.errors import ConfigError
from sweeper.space.fidelity import Audit, Ladder, Promote, Rung, at_rung, check_ladder
from sweeper.trial.checks import check_settings
from sweeper.trial.settings import target_epochs

if TYPE_CHECKING:
    from sweeper.catalog import Catalog


class Space(Protocol):
    """What a ladder is checked against of its space (sweeper.space.spec.SweepSpec)."""

    fixed: dict[str, Any]
    file: Any  # the validated space file

    @property
    def model(self) -> str: ...

    @property
    def eval_languages(self) -> list[str]: ...

    @property
    def targets(self) -> list[str]: ...

    @property
    def selection(self) -> str: ...

    @property
    def objective_languages(self) -> str: ...

    def base_settings(self) -> Any: ...

    def objective_targets(self, catalog: Any) -> tuple[list[str], dict[str, str]]: ...

RUNG_KEYS = ("name", "model", "budget_share", "languages", "target_epochs", "promote")


def _share(value: float) -> float:
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError("must be a share in (0, 1]")
    return value


def _languages(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Share = Annotated[float, AfterValidator(_share)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromoteRule(_Strict):
    """`{top: 0.25}` or `{within_interval: true}`, with `min` and `max` counts."""

    top: Share | None = None
    within_interval: StrictBool = False
    min: Annotated[int, Field(ge=1, strict=True)] = 1
    max: Annotated[int, Field(ge=1, strict=True)] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> "PromoteRule":
        if (self.top is None) == (not self.within_interval):
            raise ValueError("give top: <share> or within_interval: true (one of them)")
        if self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is larger than max ({self.max})")
        return self


class RungBlock(_Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    model: Annotated[str, Field(min_length=1)] | None = None
    budget_share: Share = 1.0
    languages: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] | None \
        = None
    target_epochs: Annotated[float, Field(gt=0)] | None = None
    promote: PromoteRule | None = None

    @model_validator(mode="before")
    @classmethod
    def _only_fidelity(cls, raw: Any) -> Any:
        if isinstance(raw, dict):
            other = [k for k in raw if k not in RUNG_KEYS]
            if other:
                raise ValueError(f"a rung changes only model, budget_share, languages and "
                                 f"target_epochs, not {', '.join(map(str, other))} (the rest, "
                                 "targets above all, comes from the space)")
            if "languages" in raw:
                raw = {**raw, "languages": _languages(raw["languages"])}
        return raw


class AuditRule(_Strict):
    """A seeded random share of the passed-over sets, at least `min`, runs one rung up."""

    share: Share = 0.1
    min: Annotated[int, Field(strict=True)] = 3

    @model_validator(mode="after")
    def _enough(self) -> "AuditRule":
        if self.min < 3:
            raise ValueError(f"min {self.min}: an audit needs 3 sets or more (the rank "
                             "agreement of fewer has no interval)")
        return self


class FidelityBlock(_Strict):
    rungs: Annotated[list[RungBlock], Field(min_length=2)]
    audit: AuditRule = AuditRule()
    # rung 0: the ranking's top sets (search.prior: rank) go to the first trained rung
    rank: PromoteRule | None = None

    def ladder(self, model: str, expand: Callable[[list[str]], list[str]] | None = None,
               target_epochs: float | None = None) -> Ladder:
        """The typed, checked ladder: a rung's missing encoder is the space's `model`, its
        missing target epochs the space's `target_epochs`; `expand` turns language groups
        into codes (the catalog's), so rungs compare by the languages they evaluate."""
        rungs = tuple(Rung(
            name=r.name, model=r.model or model, budget_share=r.budget_share,
            languages=tuple(expand(r.languages) if expand else r.languages)
            if r.languages else (),
            target_epochs=r.target_epochs if r.target_epochs is not None else target_epochs,
            promote=Promote(**r.promote.model_dump()) if r.promote else None)
            for r in self.rungs)
        ladder = Ladder(rungs, Audit(share=self.audit.share, min=self.audit.min),
                        rank=Promote(**self.rank.model_dump()) if self.rank else None)
        check_ladder(ladder)
        return ladder


def spec_ladder(block: FidelityBlock | None, spec: Space, catalog: "Catalog",
                where: str) -> Ladder | None:
    """The space's ladder, checked against the space: each rung's languages known and
    among the space's, the objective still seeing dev numbers at every rung, every rung's
    trial settings valid. One ConfigError naming the space and the rung, else."""
    if block is None:
        return None
    try:
        ladder = block.ladder(spec.model, catalog.expand_languages,
                              spec.fixed.get("target_epochs"))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    space_langs = set(catalog.expand_languages(spec.eval_languages))
    for rung in ladder.rungs:
        here = f"{where}: fidelity rung '{rung.name}'"
        outside = sorted(set(rung.languages) - space_langs) if space_langs else []
        if outside:
            raise ConfigError(f"{here}: evaluates {', '.join(outside)}, outside the space's "
                              f"eval_languages {spec.eval_languages}")
        langs = list(rung.languages) or spec.eval_languages
        seen = dataclasses.replace(spec, file=spec.file.model_copy(
            update={"eval_languages": langs}))
        if spec.objective_targets(catalog)[0] and not seen.objective_targets(catalog)[0]:
            needs = "en" if spec.selection == "english_dev" else spec.objective_languages
            raise ConfigError(f"{here}: its languages leave the objective no dev numbers "
                              f"({spec.selection} needs {needs})")
        try:
            check_settings(at_rung(rung, spec.base_settings()), catalog)
        except ConfigError as exc:
            raise ConfigError(f"{here}: {exc}") from None
    _epochs_rise(ladder, spec, catalog, where)
    return ladder


def _epochs_rise(ladder: Ladder, spec: Space, catalog: "Catalog", where: str) -> None:
    """Each trained target's fine-tuning epochs (a rung's own, else the space's or the
    catalog's default) never fall from one rung to the next."""
    base = spec.base_settings()
    trained = [catalog.task(t) for t in spec.targets if catalog.task(t).needs_training]
    epochs = [{t.name: target_epochs(at_rung(r, base), t) for t in trained}
              for r in ladder.rungs]
    for (rung, mine), (nxt, theirs) in zip(zip(ladder.rungs, epochs),
                                          zip(ladder.rungs[1:], epochs[1:])):
        for name in mine:
            if mine[name] > theirs[name] + 1e-9:
                raise ConfigError(f"{where}: fidelity rung '{rung.name}' is not cheaper than "
                                  f"'{nxt.name}': {mine[name]:g} target epochs of {name} "
                                  f"against {theirs[name]:g}")
