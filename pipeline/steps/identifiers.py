"""Identifier removal, run automatically from ``columns:`` before any other step (APPI 1-3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.core.columns import ColumnsSpec, LinkingId, unit_column
from pipeline.core.randomness import (
    Distinct,
    Secret,
    hmac_tokens,
    siphash_tokens,
    value_keys,
)
from pipeline.steps.registry import Declaration, Effect, StepContext, StepParams, Wording, step

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import dask.dataframe as dd

SURROGATE_HEX = 24  # 96 bits: collisions are negligible even for 10^9 distinct IDs
KEYED_HASH_HEX = 32  # HMAC-SHA-256 truncated to 128 bits


class DropIdentifiersParams(StepParams):
    """Columns to delete."""

    logged = ("columns_deleted",)

    columns: list[str]
    examples = ({"columns": ["name", "phone"]},)

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads nothing; deletes the columns."""
        return Declaration(removes=self.columns)


class LinkingIdsParams(StepParams):
    """Linking IDs to replace (surrogate or keyed_hash; ``drop`` is done by drop_identifiers).

    ``units``: the IDs that a ``subsample`` samples by; each gets a keyed number of the original
    ID (an engine column, never published), so the sample does not depend on the tokens.
    """

    logged = ("*",)  # each linking ID and its method (drop, surrogate, keyed_hash)

    ids: dict[str, LinkingId]
    units: list[str] = []

    wording = Wording("ランダムな符号への置換", "replaced by a random code")
    examples = (
        {"ids": {"household_id": {"method": "surrogate"}}, "units": ["household_id"]},
        {"ids": {"member_id": {"method": "keyed_hash", "key_env": "ANON_LINK_KEY"}}},
    )

    def declare(self, columns: ColumnsSpec) -> Declaration:
        """Reads the ID columns; replaces them by tokens and adds the sampling units."""
        ids = set(self.ids)
        return Declaration(reads=ids, writes={*ids, *map(unit_column, self.units)}, replaces=ids)


@step("drop_identifiers", params=DropIdentifiersParams, automatic=True)
def drop_identifiers(df: dd.DataFrame, params: DropIdentifiersParams, ctx: StepContext) -> Effect:
    """Delete direct identifiers, identification codes and linking IDs declared ``drop``.

    Runs first, from ``columns.direct_identifiers``, ``columns.identification_codes`` and the
    ``drop`` entries of ``columns.linking_ids`` (APPI processing standards 1, 2 and 3). The values
    are never logged or written; the engine does not even read these columns from the input,
    and a declared identifier column that is missing from the input is an error (a renamed
    identifier column must not slip through).
    """
    present = [c for c in params.columns if c in df.columns]
    out = df.drop(columns=present) if present else df
    return Effect(out, {"columns_deleted": len(params.columns)})


@step("linking_ids", params=LinkingIdsParams, automatic=True)
def linking_ids(df: dd.DataFrame, params: LinkingIdsParams, ctx: StepContext) -> Effect:
    """Replace linking IDs by values that cannot be turned back (APPI processing standard 3).

    * ``surrogate``: each distinct value becomes a 24-hex-digit token of a 128-bit keyed
      SipHash-2-4 (two halves under independent keys derived from the recipe's seed, the column
      name and this release's input - its SHA-256; computed in C, millions of IDs per second).
      Equal IDs stay equal (households stay together) and no mapping table exists anywhere.
      Tokens are fresh in every release (another input gives other tokens, so two releases
      cannot be joined on them), while a rerun on the same input gives the same bytes. Treat
      the seed as a secret.
    * ``keyed_hash``: HMAC-SHA-256 with the key read from the environment variable ``key_env``,
      truncated to 32 hex digits. The same key gives the same tokens across releases: linkable
      on purpose (recipients can join releases on them), which a series' merged view assumes
      anyway; the key is never written to the manifest, logs or output.

    Missing IDs stay missing.
    """
    import pandas as pd

    facts = {}
    together = {c for c, spec in params.ids.items() if spec.method == "surrogate"}
    together &= set(params.units)  # units and tokens of one column from one dictionary
    for column in params.units:  # before the tokens: the same units in every release
        if column not in together:
            key = _unit_key(ctx, column)
            units = df[column].map_partitions(_units, key, meta=(unit_column(column), "uint64"))
            df = df.assign(**{unit_column(column): units})
    for column, spec in params.ids.items():
        facts[column] = spec.method
        if spec.method == "keyed_hash":
            key, nchars, func = ctx.secrets[column], KEYED_HASH_HEX, hmac_tokens
        else:
            key, nchars = ctx.derive_key(f"surrogate:{column}:{ctx.release}"), SURROGATE_HEX
            func = siphash_tokens
        if column in together:
            meta = pd.DataFrame(
                {unit_column(column): pd.Series(dtype="uint64"), column: pd.Series(dtype="string")}
            )
            both = df[column].map_partitions(
                _units_and_tokens, _unit_key(ctx, column), Secret(key), nchars, meta=meta
            )
            df = df.assign(**{unit_column(column): both[unit_column(column)], column: both[column]})
            continue
        tokens = df[column].map_partitions(
            _tokens, func, Secret(key), nchars, meta=(column, "string")
        )
        df = df.assign(**{column: tokens})
    return Effect(df, facts)


def _unit_key(ctx: StepContext, column: str) -> Secret:
    return Secret(ctx.derive_key(f"unit:{column}"))


def _units_and_tokens(values, unit: Secret, token: Secret, nchars: int):  # noqa: ANN001, ANN202
    """A partition's sampling units and surrogate tokens of one column (one dictionary)."""
    import pandas as pd

    distinct = Distinct.of(values)
    units = value_keys(values.astype("string"), unit.value, distinct)
    tokens = siphash_tokens(values, token.value, nchars, distinct)
    return pd.DataFrame(
        {
            unit_column(values.name): pd.Series(units, index=values.index, dtype="uint64"),
            values.name: tokens,
        }
    )


def _units(values, secret: Secret):  # noqa: ANN001, ANN202 (pandas partition)
    import pandas as pd

    return pd.Series(
        value_keys(values.astype("string"), secret.value), index=values.index, dtype="uint64"
    )


def _tokens(values, func, secret: Secret, nchars: int):  # noqa: ANN001, ANN202 (pandas partition)
    return func(values, secret.value, nchars)
