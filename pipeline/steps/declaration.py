"""What a step declares about itself, once: the columns it reads and changes, and its wording.

Every step's parameter model returns a :class:`Declaration` from ``declare(columns)``. The engine
plans its passes with it (a reduction runs early only over columns no step in between writes),
the gate drops an earlier step's value check on a column a later step replaces, the loss
measures take the perturbed columns from it, and the notice and codebook take the changed columns
from it. ``tests/steps/test_contract.py`` verifies every registered step's declaration on real
data: an under-declared read or write fails there.

The wording (:class:`Wording`) is how the step is described to the public, in Japanese and
English, on the APPI notice. A step that changes a published column and cannot describe itself
is refused: by the loader before anything runs, and by the notice (:class:`UndescribedStep`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pipeline.core.columns import INTERNAL_PREFIX
from pipeline.core.errors import Problem, RecipeError

Rows = Literal["kept", "sampled", "deleted", "reordered"]


@dataclass(frozen=True)
class Declaration:
    """The columns a step (with its parameters) reads and changes, and what it does to records.

    Attributes:
        reads: Every column its frame function reads; None: any column (nothing runs early).
        numeric: Columns it reads as numbers (the ingest types them and checks they are).
        writes: Columns whose values it may change or that it adds.
        replaces: Of ``writes``, the columns whose values it replaces by other values (setting
            values missing aside): the gate drops an earlier step's check on such a column.
        removes: Columns it deletes.
        perturbs: Columns it perturbs, each ``"numeric"`` or ``"categorical"`` (their risk and
            loss as perturbed variables are measured in every run).
        rows: ``kept``; ``sampled`` or ``deleted`` when it may remove records (the gate
            reconciles row counts); ``reordered`` when it only changes their order.
    """

    reads: frozenset[str] | None = frozenset()
    numeric: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    replaces: frozenset[str] = frozenset()
    removes: frozenset[str] = frozenset()
    perturbs: Mapping[str, str] = field(default_factory=dict)
    rows: Rows = "kept"

    def __post_init__(self) -> None:
        """Normalise the collections (callers pass sets or lists) and check their relations."""
        for name in ("numeric", "writes", "replaces", "removes"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if self.reads is not None:
            object.__setattr__(self, "reads", frozenset(self.reads))
        if not self.replaces <= self.writes:
            raise ValueError("a step replaces only columns it writes")
        if not set(self.perturbs) <= self.writes:
            raise ValueError("a step perturbs only columns it writes")

    @property
    def removes_rows(self) -> bool:
        """Whether the step may remove records."""
        return self.rows in ("sampled", "deleted")

    @property
    def touched(self) -> frozenset[str]:
        """Every column the step changes, adds or deletes."""
        return self.writes | self.removes

    def published(self) -> frozenset[str]:
        """The written columns that can be published (the engine's own columns aside)."""
        return frozenset(c for c in self.writes if not c.startswith(INTERNAL_PREFIX))


@dataclass(frozen=True)
class Wording:
    """How something was processed, in words for the public: Japanese and English."""

    ja: str
    en: str


SUPPRESSED = Wording("一部の値の削除（局所的抑制）", "some values deleted")


@dataclass(frozen=True)
class Description:
    """A step's description for the notice and codebook (from its parameters and facts).

    Attributes:
        columns: Per published column the step changed, how.
        records: What it did to the records as a whole (a sample, a new order), or None.
    """

    columns: Mapping[str, Wording] = field(default_factory=dict)
    records: Wording | None = None


def undescribed(step: str, columns: set[str] | frozenset[str]) -> str:
    """The refusal's message: the step, the columns it changes, what is missing."""
    shown = sorted(columns)
    return (
        f"step {step!r} changes {len(shown)} published column(s) ({', '.join(shown)}) but "
        "cannot describe how for the public notice: give its parameter model a `wording`"
    )


class UndescribedStep(RecipeError):
    """A step changed published columns but has no wording for the public (exit 2).

    The notice of a release must say how every published column was processed; a column that
    a step changed must never be shown "as collected". Nothing is published.
    """

    def __init__(self, step: str, columns: set[str] | frozenset[str]) -> None:
        self.step, self.columns = step, sorted(columns)
        super().__init__([Problem(undescribed(step, columns), code="undescribed_step")])

    def __reduce__(self) -> tuple:
        return (self.__class__, (self.step, self.columns))
