"""What a step requires of the published data, in plain terms.

A step states what its output must satisfy (``StepParams.requirements``); the gate turns each
requirement into a row check run by Great Expectations (``pipeline.gate.derive``), so steps
know nothing of the validation engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """Every value of ``column`` is at most (``upper``) or at least (not ``upper``) ``limit``."""

    column: str
    limit: float
    upper: bool


@dataclass(frozen=True)
class OneOf:
    """Every value of ``column`` is one of ``values`` (missing values pass); ``what`` names them."""

    column: str
    values: tuple[Any, ...]
    what: str


@dataclass(frozen=True)
class GroupSize:
    """Records sharing the same values of ``columns`` (per ``strata``) number at least ``k``.

    Records whose ``columns`` are all missing are not counted (they carry no released value).
    """

    columns: tuple[str, ...]
    strata: tuple[str, ...]
    k: int

    @property
    def column(self) -> str:
        """The first column (names the check)."""
        return self.columns[0]


Requirement = Bound | OneOf | GroupSize
