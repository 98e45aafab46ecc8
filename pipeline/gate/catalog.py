"""The gate's checks, each kind declared once: its reason codes, what it reads, how it is measured.

A :class:`CheckKind` is the unit of the gate, as a step is the unit of the pipeline. It states
the reason codes its checks report, the stages it judges, the fields of :class:`Evidence` it
reads, and how its checks are measured:

* ``rows``: row checks (GX expectations: a contract's run by GX, the steps' counted by Arrow;
  see ``pipeline.gate.rows``), validated batch by batch during the stage's pass;
* ``stream``: a consumer fed the same pass's tables (the identifier scan, group sizes), whose
  results are taken at the end;
* ``table``: checks computed from whole-file facts (the risk summary, the run's utility, the
  column set, row counts, a contract's table rules, a published output's records).

The run and ``--gate-only`` judge a stage with the same kinds (``kinds(stage)``), measured by
the same pass (``pipeline.engine.measure``) over the batches being written or over the
published files; ``--gate-only`` adds the kinds that audit what an output says of itself
(``audit=True``). Each kind lives next to the code that computes it and registers itself here;
``tests/gate/test_catalog.py`` verifies every declaration (reasons, stages, reads).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pipeline.gate.checks import RowCheck, Source, Stage
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pyarrow as pa

    from pipeline.contracts.odcs import Contract
    from pipeline.io.dataset import Dataset
    from pipeline.recipe.models import Recipe
    from pipeline.risk.summary import RiskSummary
    from pipeline.utility.model import Utility

Scope = Literal["microdata", "tables"]


@dataclass(frozen=True)
class RanStep:
    """A recipe step as it ran: its position, name, parameters, facts and row counts."""

    index: int
    name: str
    params: Any  # the step's parameters (a StepParams model)
    facts: dict[str, Any]
    rows_in: int
    rows_out: int


def _no_columns() -> pa.Schema:
    """An empty schema (evidence about no data yet)."""
    import pyarrow as pa

    return pa.schema([])


@dataclass(frozen=True)
class Evidence:
    """What a gate stage judges: the data, what the run made of it and what was measured.

    Known before the stage's pass (what ``rows`` and ``stream`` may read):

    Attributes:
        stage: ``input`` or ``output``.
        recipe: The effective recipe (a tabulation's, for the kinds of scope ``tables``).
        base_dir: The recipe's folder (hierarchy and map files).
        schema: The columns and types of the data judged.
        rows: Its number of records.
        steps: The steps that ran (output stage).
        rows_in: Records read from the input (output stage).
        expected: The columns the output must have (output stage).
        contract: The stage's ODCS contract (None without one).
        identifiers_present: Declared identifier columns in the input's header (input stage).
        whole_numbers: Input columns read as whole numbers (input stage).

    Measured (what ``table`` may read besides):

    Attributes:
        data: The data's files.
        found: Each kind's results measured in the pass (row checks and streams).
        batches: Tables of the pass the row checks validated.
        validated: Rows the row checks validated in the pass.
        risk: The risk summary of the data (None without key variables).
        utility: The run's information loss (output stage).
        series: The risk of a series' merged view (a release of a series).
        published: What an audited output says of itself (``--gate-only``).
        tables: The protected tables of a tabulation and their files.
    """

    stage: Stage
    recipe: Recipe | Any
    base_dir: Path = Path()
    schema: pa.Schema = field(default_factory=_no_columns)
    rows: int = 0
    steps: Sequence[RanStep] = ()
    rows_in: int = 0
    expected: Sequence[str] = ()
    contract: Contract | None = None
    identifiers_present: frozenset[str] = frozenset()
    whole_numbers: frozenset[str] = frozenset()
    data: Dataset | None = None
    found: Mapping[str, list[CheckResult]] = field(default_factory=dict)
    batches: int = 0
    validated: int = 0
    risk: RiskSummary | None = None
    utility: Utility | None = None
    series: RiskSummary | None = None
    published: Any = None
    tables: Sequence[Any] = ()


BEFORE_PASS = frozenset(
    (
        "stage",
        "recipe",
        "base_dir",
        "schema",
        "rows",
        "steps",
        "rows_in",
        "expected",
        "contract",
        "identifiers_present",
        "whole_numbers",
    )
)


class Stream(Protocol):
    """A consumer of one pass: takes the data's tables in order, then gives its checks."""

    columns: list[str]

    def add(self, table: pa.Table) -> None:
        """Take one table of records."""

    def results(self, data: Dataset) -> list[CheckResult]:
        """The checks, once every table was added (``data``: the files, to read more)."""


@dataclass(frozen=True)
class CheckKind:
    """One kind of gate check, declared once.

    Attributes:
        name: Stable name (``anonymize checks`` lists them).
        summary: What it verifies, for an auditor (one sentence).
        reasons: The reason codes its checks report (``check_error`` is implied for row checks).
        stages: The stages it judges.
        reads: The fields of :class:`Evidence` its functions read (besides ``stage`` and
            ``recipe``, which every kind may read).
        scope: ``microdata`` (the run's gate) or ``tables`` (a tabulation's output checking).
        audit: Whether only ``--gate-only`` judges it (what an output says of itself).
        source: ``recipe`` (the gate derives it) or ``contract`` (a data contract's rule).
        rows: The row checks to validate in the pass.
        stream: The consumer to feed in the pass (None: nothing to measure for this evidence).
        table: The checks computed from whole-file facts.
    """

    name: str
    summary: str
    reasons: tuple[Reason, ...]
    stages: tuple[Stage, ...] = ("output",)
    reads: tuple[str, ...] = ()
    scope: Scope = "microdata"
    audit: bool = False
    source: Source = "recipe"
    rows: Callable[[Evidence], list[RowCheck]] | None = None
    stream: Callable[[Evidence], Stream | None] | None = None
    table: Callable[[Evidence], list[CheckResult]] | None = None

    def judged(self, evidence: Evidence) -> list[CheckResult]:
        """The kind's results on ``evidence``: measured in the pass, then whole-file ones."""
        found = list(evidence.found.get(self.name, []))
        return found + (self.table(evidence) if self.table is not None else [])


KINDS: dict[str, CheckKind] = {}
# the gate's modules that declare kinds (the engine's, the audit's and the tabulation's declare
# theirs when the engine imports them)
DECLARING = ("contract_table", "derive", "groups", "scanning", "series", "utility")


def loaded() -> dict[str, CheckKind]:
    """The catalogue, the gate's declaring modules imported first (whichever ran before)."""
    for name in DECLARING:
        importlib.import_module(f"pipeline.gate.{name}")
    return KINDS


def register(kind: CheckKind) -> CheckKind:
    """Add ``kind`` to the catalogue (a name is registered once)."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ValueError(f"gate check kind {kind.name!r} registered twice")
    KINDS[kind.name] = kind
    return kind


def kinds(stage: Stage, audit: bool = False, scope: Scope = "microdata") -> list[CheckKind]:
    """The kinds that judge ``stage`` (with the audit's own when ``audit``), by name."""
    return [
        kind
        for name, kind in sorted(loaded().items())
        if stage in kind.stages and kind.scope == scope and (audit or not kind.audit)
    ]


def judged(chosen: Sequence[CheckKind], evidence: Evidence) -> list[CheckResult]:
    """Every result of the ``chosen`` kinds on ``evidence``, kind by kind."""
    return [result for kind in chosen for result in kind.judged(evidence)]


def describe() -> list[dict[str, Any]]:
    """The catalogue as plain data: name, scope, stages, reasons, how measured, summary."""
    out = []
    for name, kind in sorted(loaded().items()):
        how = [
            what
            for what, used in (
                ("rows", kind.rows),
                ("stream", kind.stream),
                ("table", kind.table),
            )
            if used is not None
        ]
        out.append(
            {
                "name": name,
                "scope": kind.scope,
                "stages": list(kind.stages),
                "audit": kind.audit,
                "reasons": [str(r) for r in kind.reasons],
                "measured": how,
                "summary": kind.summary,
            }
        )
    return out
