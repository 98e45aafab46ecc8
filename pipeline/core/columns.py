"""The columns of the data: their roles in a recipe, and the engine's own columns.

``ColumnsSpec`` is the recipe's ``columns:`` section (pydantic, part of
``schemas/recipe.schema.json``); steps, the gate and the engine read the roles from it. ``ROW``
and ``ORDER`` are columns the engine carries beside the data and never publishes; no input or
recipe column may start with ``INTERNAL_PREFIX``.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.core.strict import StrictModel

INTERNAL_PREFIX = "__anon_"
ROW = f"{INTERNAL_PREFIX}row"  # position of the record in the input file, added by the engine
ORDER = f"{INTERNAL_PREFIX}order"  # published position key (shuffle_records); the writer sorts
PERSON = f"{INTERNAL_PREFIX}person"  # a release series' keyed fingerprint of the person (uint64)
HIDDEN = f"{INTERNAL_PREFIX}hidden"  # bits: the key values a series keeps hidden from now on


MERGED_PREFIX = f"{INTERNAL_PREFIX}merged_"
UNIT_PREFIX = f"{INTERNAL_PREFIX}unit_"


def unit_column(column: str) -> str:
    """A linking ID's sampling unit: a keyed number of the original ID (before its token)."""
    return f"{UNIT_PREFIX}{column}"


def merged_column(j: int) -> str:
    """A release series' merged value of key variable j (what every release showed, text)."""
    return f"{MERGED_PREFIX}{j}"


MIN_KEY_BYTES = 16


ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"  # an environment variable's name


def env_key_problem(name: str) -> str | None:
    """Why the key in environment variable ``name`` cannot be used (None: it can)."""
    key = os.environ.get(name)
    if key is None:
        return f"environment variable {name} is not set"
    if len(key.encode()) < MIN_KEY_BYTES:
        return f"the key in {name} is too short: use at least {MIN_KEY_BYTES} bytes"
    return None


class LinkingId(StrictModel):
    """How one linking ID column is removed (APPI standard 3)."""

    method: Literal["drop", "surrogate", "keyed_hash"] = Field(
        description="drop: delete the column; surrogate: replace each value by a random token "
        "derived from the seed (no mapping kept); keyed_hash: HMAC-SHA-256 with a key read from "
        "the environment variable key_env (the key is never written anywhere)."
    )
    key_env: str | None = Field(
        None,
        pattern=ENV_NAME,
        description="Name of the environment variable holding the HMAC key (not the key).",
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """Allow the shorthand ``member_id: drop`` in the published schema."""
        schema = handler(core_schema)
        return {"anyOf": [{"type": "string", "enum": ["drop", "surrogate"]}, schema]}

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"method": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _key_rules(self) -> LinkingId:
        if self.method == "keyed_hash":
            if not self.key_env:
                raise ValueError("keyed_hash needs key_env: the environment variable with the key")
            if problem := env_key_problem(self.key_env):
                raise ValueError(problem)
        elif self.key_env:
            raise ValueError("key_env is only used with method keyed_hash")
        return self


class ColumnsSpec(StrictModel):
    """The role of each sensitive column. Identifier columns are removed before any step."""

    direct_identifiers: list[str] = Field(
        default_factory=list, description="Names, addresses, phones, e-mail (APPI standard 1)."
    )
    identification_codes: list[str] = Field(
        default_factory=list,
        description="My Number, licence, passport, insurance numbers (APPI standard 2).",
    )
    linking_ids: dict[str, LinkingId] = Field(
        default_factory=dict, description="Linking IDs and how each is removed (standard 3)."
    )
    key_variables: list[str] = Field(
        default_factory=list, description="Quasi-identifiers used for disclosure risk."
    )
    sensitive: list[str] = Field(default_factory=list, description="Sensitive variables.")
    weight: str | None = Field(None, description="Sampling weight column.")

    def removed(self) -> list[str]:
        """Columns deleted outright before the steps run."""
        dropped = [c for c, spec in self.linking_ids.items() if spec.method == "drop"]
        return [*self.direct_identifiers, *self.identification_codes, *dropped]

    def roles(self) -> dict[str, list[str]]:
        """Map each column to the roles it was declared in (to detect conflicts)."""
        out: dict[str, list[str]] = {}
        for role in ("direct_identifiers", "identification_codes", "key_variables", "sensitive"):
            for col in getattr(self, role):
                out.setdefault(col, []).append(role)
        for col in self.linking_ids:
            out.setdefault(col, []).append("linking_ids")
        if self.weight:
            out.setdefault(self.weight, []).append("weight")
        return out
