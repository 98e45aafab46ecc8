"""Pydantic models of a recipe. ``schemas/recipe.schema.json`` is generated from these.

Step parameters live next to each step (``pipeline/steps/``); the recipe only holds the list of
step calls, each a one-key mapping ``{step_name: {params}}`` validated by the loader.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from pipeline.core.columns import (
    ENV_NAME,
    INTERNAL_PREFIX,
    ColumnsSpec,
    LinkingId,
    StrictModel,
    env_key_problem,
)
from pipeline.io.files import is_csv_name
from pipeline.recipe.release import ReleaseSpec
from pipeline.risk import K_MAX
from pipeline.risk.privacy import LDiversity, TCloseness
from pipeline.utility.spec import UtilitySpec

__all__ = ["INTERNAL_PREFIX", "ColumnsSpec", "LinkingId", "Recipe", "StrictModel"]


POSTGRES_URL = r"^postgres(ql)?://"
TABLE_NAME = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$"  # table or schema.table


def _exactly_one(values: dict[str, Any], where: str) -> None:
    """Raise unless exactly one of ``values`` is given (not None)."""
    if sum(v is not None for v in values.values()) != 1:
        raise ValueError(f"{where}needs exactly one of {' and '.join(values)}")


class InputSpec(StrictModel):
    """Where the microdata comes from: a file or folder, or a database (``format: sql``)."""

    format: Literal["csv", "parquet", "sql"] | None = Field(
        None,
        description="Defaults to the file extension (.csv/.txt -> csv, otherwise parquet); sql "
        "reads a PostgreSQL table or query (url or url_env, and table or query).",
    )
    path: str | None = Field(
        None,
        min_length=1,
        pattern=r"\S",
        validate_default=True,
        description="CSV file, Parquet file or directory of Parquet files (not with sql).",
    )
    url: str | None = Field(
        None,
        pattern=POSTGRES_URL,
        description="sql: postgresql://USER@HOST:PORT/DB. A password may be given here, in "
        "PGPASSWORD or ~/.pgpass; it is never printed or recorded.",
    )
    url_env: str | None = Field(
        None, pattern=ENV_NAME, description="sql: the environment variable holding the URL."
    )
    table: str | None = Field(
        None,
        pattern=TABLE_NAME,
        description="sql: the table (or view) to read, optionally schema.table.",
    )
    query: str | None = Field(
        None,
        min_length=1,
        description="sql: one SELECT (or WITH ... SELECT) statement, read in a read-only "
        "session; the manifest records its SHA-256, not its text.",
    )
    order_by: list[str] = Field(
        default_factory=list,
        description="sql: columns the records are read in the order of (row numbers, and so "
        "every draw, depend on the order; a table is otherwise read in its stored order).",
    )
    encoding: str = Field("utf-8", description="Text encoding of a CSV file, e.g. utf-8, cp932.")
    delimiter: str = Field(",", min_length=1, max_length=1, description="CSV field separator.")
    na_values: list[str] = Field(
        default_factory=lambda: ["", "NA"], description="CSV cells read as missing."
    )
    numeric: list[str] = Field(
        default_factory=list,
        description="CSV columns to read as numbers although no step uses them as numbers. "
        "All other CSV columns stay text unless a step needs a number (leading zeros survive).",
    )
    identity: Literal["bytes", "records"] | None = Field(
        None,
        description="What makes a release itself, its draws (surrogate tokens, subsample, "
        "shuffle_records) coming from it: bytes, the input's SHA-256 (the default for files); "
        "or records, the SHA-256 of the records read, numbers compared as numbers, so a table "
        "and its CSV export give the same release (the default for format: sql). records "
        "costs one more read of the input's columns.",
    )
    non_finite: Literal["error", "missing"] = Field(
        "error",
        description="inf / -inf in a column read as a number: an input error (exit 3), or read "
        "as missing. Text such as 'nan' is never a number.",
    )

    def resolved_identity(self) -> Literal["bytes", "records"]:
        """``identity``, or its default: records for a database, bytes for files."""
        if self.identity is not None:
            return self.identity
        return "records" if self.format == "sql" else "bytes"

    @field_validator("delimiter")
    @classmethod
    def _usable_delimiter(cls, value: str) -> str:
        if value in ('"', "\n", "\r"):
            raise ValueError("the delimiter cannot be a quote or a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown text encoding {value!r} (e.g. utf-8, cp932)") from None

    @field_validator("path")
    @classmethod
    def _path_for_files(cls, value: str | None, info: ValidationInfo) -> str | None:
        sql = info.data.get("format") == "sql"
        if value is None and not sql:
            raise ValueError("required key is missing (a file or folder; or format: sql)")
        if value is not None and sql:
            raise ValueError("format: sql reads a database: no path")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> InputSpec:
        sql = {"url": self.url, "url_env": self.url_env, "table": self.table, "query": self.query}
        sql["order_by"] = self.order_by or None
        if self.format != "sql":
            given = [k for k, v in sql.items() if v is not None]
            if given:
                raise ValueError(f"{', '.join(given)}: only with format: sql")
            return self
        _exactly_one({"url": self.url, "url_env": self.url_env}, "format: sql ")
        _exactly_one({"table": self.table, "query": self.query}, "format: sql ")
        return self

    @property
    def label(self) -> str:
        """The input as messages name it: its path, or the database table or query."""
        if self.path is not None:
            return self.path
        return f"(database) table {self.table}" if self.table else "(database) query"

    def resolved_format(self) -> Literal["csv", "parquet", "sql"]:
        """Return the declared format or the one implied by the file extension."""
        if self.format:
            return self.format
        return "csv" if is_csv_name(self.path or "") else "parquet"


class DatabaseOutput(StrictModel):
    """A PostgreSQL table that receives the published records too (internal releases)."""

    url: str | None = Field(
        None, pattern=POSTGRES_URL, description="postgresql://USER@HOST:PORT/DB."
    )
    url_env: str | None = Field(
        None, pattern=ENV_NAME, description="The environment variable holding the URL."
    )
    table: str = Field(
        pattern=TABLE_NAME,
        description="The table (schema.table) to create or replace; never one this tool "
        "did not create.",
    )

    @model_validator(mode="after")
    def _one_url(self) -> DatabaseOutput:
        _exactly_one({"url": self.url, "url_env": self.url_env}, "")
        return self


class OutputSpec(StrictModel):
    """Where the anonymized files are published."""

    dir: str = Field(
        min_length=1, pattern=r"\S", description="Output directory; replaced atomically on success."
    )
    format: Literal["parquet", "csv"] = "parquet"
    encoding: str = Field("utf-8", description="Text encoding of CSV output.")
    rows_per_file: int = Field(1_000_000, ge=1, description="Rows in each output data file.")
    signing_key_env: str | None = Field(
        None,
        pattern=ENV_NAME,
        description="Sign manifest.json (HMAC-SHA-256) with the key in this environment "
        "variable (at least 16 bytes; never written): --gate-only then detects any edit.",
    )
    database: DatabaseOutput | None = Field(
        None,
        description="Also load the published records into a PostgreSQL table: staged, checked "
        "against the files the gate judged, and renamed into place in one transaction.",
    )

    _known_encoding = field_validator("encoding")(InputSpec._known_encoding.__func__)

    @field_validator("signing_key_env")
    @classmethod
    def _usable_key(cls, value: str | None) -> str | None:
        if value is not None and (problem := env_key_problem(value)):
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _database_from_parquet(self) -> OutputSpec:
        if self.database is not None and self.format != "parquet":
            raise ValueError("database: the table is loaded from Parquet files (format: parquet)")
        return self


class ModelRiskSpec(StrictModel):
    """Model-based risk: a log-linear model of the key variables (sdcMicro's modRisk)."""

    terms: str | None = Field(
        None,
        description="Interactions beyond the main effects, as 'a:b + c:d' (key variables); "
        "default: main effects only.",
    )
    bound: float | None = Field(
        None, gt=0, description="Combinations of more records are not counted (default: none)."
    )
    max_unique_risk: float | None = Field(
        None, ge=0, description="Largest acceptable unique_risk (sdcMicro's Risk-Measure 1)."
    )
    max_match_risk: float | None = Field(
        None, ge=0, description="Largest acceptable match_risk (sdcMicro's Risk-Measure 2)."
    )


class PopulationSpec(StrictModel):
    """Population uniques estimated from the sample (ARX's Zayatz, Pitman, SNB; Dankar's rule)."""

    sampling_fraction: float | None = Field(
        None,
        gt=0,
        le=1,
        description="The sample's share of the population (default: the "
        "records over the sum of columns.weight).",
    )
    max_share: float | None = Field(
        None, ge=0, le=1, description="Largest acceptable share of population uniques (Dankar)."
    )


class RiskSpec(StrictModel):
    """Disclosure-risk targets: measured before and after the steps, enforced by the gate."""

    k: int = Field(3, ge=1, le=K_MAX, description="k of k-anonymity over columns.key_variables.")
    max_global_risk: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Largest acceptable global risk (expected re-identifications / records).",
    )
    household: str | None = Field(
        None, description="Household id column: adds household risk 1 - prod(1 - rk)."
    )
    missing: Literal["any", "category"] = Field(
        "any",
        description="any: a missing key value matches every value (sdcMicro); category: "
        "missing is a category of its own.",
    )
    l_diversity: LDiversity | None = Field(
        None, description="Every class (records with a key value) is l-diverse in a column."
    )
    t_closeness: TCloseness | None = Field(
        None, description="Every class (records with a key value) is t-close in a column."
    )
    max_special_uniques: int | None = Field(
        None,
        ge=0,
        description="Most records allowed to be SUDA2 special uniques (unique on fewer "
        "variables than all the keys); measures SUDA2 before and after.",
    )
    max_dis_score: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Largest DIS-SUDA score allowed for any record; measures SUDA2.",
    )
    dis_fraction: float = Field(
        0.01, gt=0, le=1, description="Sampling fraction the DIS-SUDA score assumes."
    )

    model: ModelRiskSpec | None = Field(
        None, description="Model-based risk, measured before and after (needs columns.weight)."
    )
    population: PopulationSpec | None = Field(
        None, description="Population uniques estimated before and after (ARX's estimators)."
    )

    def suda2_fraction(self) -> float | None:
        """The DIS fraction when a SUDA2 target is set (None: SUDA2 is not measured)."""
        wanted = self.max_special_uniques is not None or self.max_dis_score is not None
        return self.dis_fraction if wanted else None


class ContractsSpec(StrictModel):
    """ODCS v3 data contracts checked by the gate (paths relative to the recipe file)."""

    input: str | None = Field(
        None, description="Contract of the input, checked before any step runs (exit 3)."
    )
    output: str | None = Field(
        None, description="Contract of the output, checked before publishing (exit 4)."
    )


class ScanSpec(StrictModel):
    """The identifier scanner inside a run (see ``anonymize scan``)."""

    undeclared: Literal["fail", "warn", "off"] = Field(
        "fail",
        description="Identifiers found in input columns not declared as identifiers: fail the "
        "run (exit 3), warn (recorded in the manifest), or off.",
    )
    output: bool = Field(True, description="The gate requires the output to scan clean.")
    ignore: list[str] = Field(
        default_factory=list,
        description="Columns known not to be identifiers although they look like some.",
    )
    min_confidence: float = Field(0.5, gt=0, le=1, description="Findings at or above this.")
    sample: int | None = Field(
        1_000_000, ge=1, description="Scan a seeded sample of this many rows; null: every row."
    )

    @field_validator("undeclared", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted ``off`` (or ``no``) as false: take it as ``off``."""
        return "off" if value is False else value


class SeriesSpec(StrictModel):
    """A release series: the same recipe run again on a later file of mostly the same people.

    See the README's "Nightly releases". Each run with ``--previous`` is judged together with
    the releases before it, through the series state kept beside the manifest.
    """

    person: str = Field(
        min_length=1,
        description="Input column identifying a person across releases (e.g. member_id). It "
        "is read only to be fingerprinted (keyed) and is never published: declare it as an "
        "identifier too (e.g. linking_ids: {member_id: drop}).",
    )
    key_env: str = Field(
        pattern=ENV_NAME,
        description="Environment variable holding the series key (at least 16 bytes; never "
        "written): it keys the person fingerprints and the state's MAC. Without it a run keeps "
        "no series state and is judged alone.",
    )
    withhold: bool = Field(
        True,
        description="Withhold from this release the records whose merged view (what an "
        "attacker knows from every release) cannot reach k by suppressing values; false: the "
        "gate blocks instead.",
    )

    def problems(self, recipe: Recipe) -> list[tuple[tuple, str]]:
        """(key path, message) for each way the recipe cannot hold a series."""
        out = []
        if self.person not in recipe.columns.removed():
            out.append(
                (
                    ("series", "person"),
                    f"the person key {self.person!r} must never be "
                    "published: declare it as an identifier too, e.g. linking_ids: "
                    f"{{{self.person}: drop}}",
                )
            )
        if recipe.risk is None or not recipe.columns.key_variables:
            out.append(
                (
                    ("series",),
                    "a release series is judged against risk.k over "
                    "columns.key_variables: add risk: {k: ...} and key variables",
                )
            )
        return out


class Recipe(StrictModel):
    """A YAML recipe: input, output, seed, column roles and the ordered steps."""

    version: Literal[1] = Field(description="Recipe format version.")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Recipe name.")
    description: str | None = None
    input: InputSpec
    output: OutputSpec
    seed: int = Field(ge=0, lt=2**63, description="Seed of every random choice (secret-ish).")
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    risk: RiskSpec | None = Field(None, description="Risk targets (needs key_variables).")
    contracts: ContractsSpec = Field(
        default_factory=ContractsSpec, description="Data contracts enforced by the gate."
    )
    scan: ScanSpec = Field(default_factory=ScanSpec, description="Identifier scanner settings.")
    utility: UtilitySpec = Field(
        default_factory=UtilitySpec,
        description="Information-loss measures (always taken), their limits and warnings.",
    )
    steps: list[Any] = Field(
        default_factory=list,
        description="Ordered step calls, each a mapping {step_name: {parameters}}.",
    )
    series: SeriesSpec | None = Field(
        None, description="A release series (nightly releases judged together; --previous)."
    )
    release: ReleaseSpec | None = Field(
        None,
        description="The handler, the method of provision and the columns' labels: what the "
        "public notice and the recipients need (pipeline.recipe.release).",
    )

    @field_validator("name")
    @classmethod
    def _no_internal(cls, value: str) -> str:
        if re.match(re.escape(INTERNAL_PREFIX), value):
            raise ValueError(f"names may not start with {INTERNAL_PREFIX}")
        return value
