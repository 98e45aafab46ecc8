"""The part of ODCS v3 the gate executes, loaded with file:line errors.

Executed: per property ``logicalType`` (string, integer, number, boolean, date), ``required``,
``unique``, ``logicalTypeOptions`` (minimum, maximum, exclusiveMinimum, exclusiveMaximum,
minLength, maxLength, pattern), and ``quality`` rules of type ``library`` with the metrics
nullValues, missingValues, invalidValues (validValues or pattern), duplicateValues and, at schema
level, rowCount and duplicateValues, compared with mustBe, mustNotBe, mustBeGreaterThan,
mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, mustNotBeBetween
(unit rows or percent). ``text`` rules are documentation. Other rule types (sql, custom) are
rejected: a check named in a contract either runs or is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, model_validator

from pipeline.core.errors import Problem, RecipeError
from pipeline.core.numbers import number
from pipeline.core.strict import StrictModel
from pipeline.core.yamlpos import YamlProblem, format_path, line_of, load_with_lines
from pipeline.io.csvtext import bad_byte_line

OPERATORS = (
    "mustBe",
    "mustNotBe",
    "mustBeGreaterThan",
    "mustBeGreaterOrEqualTo",
    "mustBeLessThan",
    "mustBeLessOrEqualTo",
    "mustBeBetween",
    "mustNotBeBetween",
)
PROPERTY_METRICS = ("nullValues", "missingValues", "invalidValues", "duplicateValues")
SCHEMA_METRICS = ("rowCount", "duplicateValues")


class _Open(StrictModel):
    """ODCS allows many descriptive keys; unknown keys are kept and ignored."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class QualityRule(_Open):
    """One ``quality`` entry."""

    type: Literal["library", "text", "sql", "custom"] = "library"
    metric: str | None = None
    rule: str | None = None  # deprecated alias of metric
    name: str | None = None
    description: str | None = None
    arguments: dict[str, Any] = Field(default_factory=dict)
    unit: Literal["rows", "percent"] = "rows"
    mustBe: float | None = None  # noqa: N815 - ODCS names
    mustNotBe: float | None = None  # noqa: N815
    mustBeGreaterThan: float | None = None  # noqa: N815
    mustBeGreaterOrEqualTo: float | None = None  # noqa: N815
    mustBeLessThan: float | None = None  # noqa: N815
    mustBeLessOrEqualTo: float | None = None  # noqa: N815
    mustBeBetween: list[float] | None = Field(None, min_length=2, max_length=2)  # noqa: N815
    mustNotBeBetween: list[float] | None = Field(None, min_length=2, max_length=2)  # noqa: N815

    @model_validator(mode="after")
    def _executable(self) -> QualityRule:
        if self.type in ("sql", "custom"):
            raise ValueError(
                f"quality rules of type {self.type} are not executed by this tool; "
                "use library metrics"
            )
        if self.type == "library":
            if (self.metric or self.rule) is None:
                raise ValueError("a library rule needs metric")
            self.metric = self.metric or self.rule
            if not any(getattr(self, op) is not None for op in OPERATORS):
                raise ValueError(f"a library rule needs one of {', '.join(OPERATORS)}")
        return self

    def passes(self, value: float, total: int) -> bool:
        """Compare a measured count with the rule's operators (all given must hold)."""
        if self.unit == "percent":
            value = 100.0 * value / total if total else 0.0
        checks = {
            "mustBe": lambda t: value == t,
            "mustNotBe": lambda t: value != t,
            "mustBeGreaterThan": lambda t: value > t,
            "mustBeGreaterOrEqualTo": lambda t: value >= t,
            "mustBeLessThan": lambda t: value < t,
            "mustBeLessOrEqualTo": lambda t: value <= t,
            "mustBeBetween": lambda t: t[0] <= value <= t[1],
            "mustNotBeBetween": lambda t: not t[0] <= value <= t[1],
        }
        return all(
            f(getattr(self, op)) for op, f in checks.items() if getattr(self, op) is not None
        )

    def threshold(self) -> str:
        """The operators as text, for reports."""

        def shown(value: float | list[float]) -> str:  # 100,000,000, never 1e+08
            if isinstance(value, list):
                return " to ".join(number(v, 6) for v in value)
            return number(value, 6)

        parts = [
            f"{op} {shown(getattr(self, op))}" for op in OPERATORS if getattr(self, op) is not None
        ]
        return ", ".join(parts) + (" %" if self.unit == "percent" else "")


class TypeOptions(_Open):
    """``logicalTypeOptions`` the gate checks."""

    minimum: float | None = None
    maximum: float | None = None
    exclusiveMinimum: float | None = None  # noqa: N815
    exclusiveMaximum: float | None = None  # noqa: N815
    minLength: int | None = None  # noqa: N815
    maxLength: int | None = None  # noqa: N815
    pattern: str | None = None


class Property(_Open):
    """A column."""

    name: str
    logicalType: (
        Literal[  # noqa: N815
            "string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"
        ]
        | None
    ) = None
    required: bool = False
    unique: bool = False
    logicalTypeOptions: TypeOptions = Field(default_factory=TypeOptions)  # noqa: N815
    quality: list[QualityRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _property_metrics(self) -> Property:
        for rule in self.quality:
            if rule.type == "library" and rule.metric not in PROPERTY_METRICS:
                raise ValueError(
                    f"unknown property metric {rule.metric!r} (valid: "
                    f"{', '.join(PROPERTY_METRICS)})"
                )
        return self


class SchemaObject(_Open):
    """A table (one per contract is used)."""

    name: str
    properties: list[Property] = Field(default_factory=list)
    quality: list[QualityRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _schema_metrics(self) -> SchemaObject:
        for rule in self.quality:
            if rule.type == "library" and rule.metric not in SCHEMA_METRICS:
                raise ValueError(
                    f"unknown schema metric {rule.metric!r} (valid: {', '.join(SCHEMA_METRICS)})"
                )
        return self


class Contract(_Open):
    """An ODCS v3 data contract."""

    apiVersion: str = Field(pattern=r"^v3\.")  # noqa: N815
    kind: Literal["DataContract"]
    id: str
    version: str
    status: str
    name: str | None = None
    schema_: list[SchemaObject] = Field(alias="schema", min_length=1, max_length=1)

    @property
    def table(self) -> SchemaObject:
        """The contract's single table."""
        return self.schema_[0]


def load_contract(path: Path) -> Contract:
    """Load and validate a contract file.

    Raises:
        RecipeError: every problem with file:line key.path.
    """
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError:
        raise RecipeError(
            [Problem(f"data contract {path} not found", code="contract_missing")],
            title="data contract error",
        ) from None
    except UnicodeDecodeError as exc:
        raise RecipeError(
            [
                Problem(
                    "the data contract is not UTF-8 text",
                    f"{path}:{bad_byte_line(raw, exc)}",
                    "unreadable",
                )
            ],
            title="data contract error",
        ) from None
    try:
        data, lines, problems = load_with_lines(text)
    except YamlProblem as exc:
        raise RecipeError(
            [Problem(exc.message, f"{path}:{exc.line}", "yaml")], title="data contract error"
        ) from None
    found = [Problem(p.message, f"{path}:{p.line}", "yaml") for p in problems]
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            loc = tuple("schema" if p == "schema_" else p for p in loc)
            message = err["msg"].removeprefix("Value error, ")
            found.append(Problem(message, f"{path}:{line_of(lines, loc)} {format_path(loc)}:"))
        contract = None
    if found or contract is None:
        raise RecipeError(found, title="data contract error")
    return contract
