"""The series state: per person, what the releases of a series showed of their key values.

Two files beside the manifest, in the processing record (never in the data, the package, the
notice or the reports): ``series_state.parquet`` with one row per person ever released, sorted
by fingerprint -

* ``fingerprint``: a keyed 64-bit hash of the person id (SipHash under a key derived from the
  series key; the id itself is never kept);
* ``row``: the person's record in this release's data files (its position), -1 when absent;
* ``hidden``: a bit per key variable, set once a release did not show the person's value (a
  step hid it, or the input lacked it); it stays hidden in every later release, so that no
  release tells anything about an earlier one;
* ``known_<j>``: the last value of key variable j that any release showed (text; null: never);

and ``series.json``: the header (releases so far, the generalization levels of the series, the
state's SHA-256, a key check and an HMAC under the series key over all of it). A state whose
MAC does not verify, of another recipe, person column or key variables is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from pipeline.core.artifact import Artifact
from pipeline.core.errors import InputDataError, Problem, RecipeError

if TYPE_CHECKING:
    # imported where used: checking a recipe (``anonymize validate``) loads none of them
    import pandas as pd
    import pyarrow as pa

STATE = "series_state.parquet"
HEADER = "series.json"
SCHEMA_VERSION = "1.0"
_MAX_HEADER = 64 << 20


class ReleaseRecord(BaseModel):
    """One release of the series."""

    run_id: str
    generated_at: str
    records: int = Field(description="Records released.")
    persons_seen: int = Field(description="Released persons that an earlier release showed.")


class SeriesHeader(Artifact):
    """``series.json``: what the state is and the proof that this tool wrote it unchanged."""

    schema_version: str = SCHEMA_VERSION
    person: str = Field(description="The input column identifying a person (never its values).")
    key_variables: list[str]
    releases: list[ReleaseRecord]
    levels: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="generalize step signature -> column -> level."
    )
    persons: int = Field(description="Persons in the state (ever released).")
    state_sha256: str
    key_check: str = Field(description="Tells the series key from another (not the key).")
    mac: str = Field("", description="HMAC-SHA-256 under the series key of the header.")


@dataclass(frozen=True)
class SeriesKey:
    """Keys derived from the series key (never written): fingerprints, MAC, key check."""

    fingerprint: bytes
    mac: bytes
    check: str

    @classmethod
    def of(cls, secret: bytes) -> SeriesKey:
        """Derive the keys from the environment's series key."""

        def derive(label: bytes) -> bytes:
            return hmac.new(secret, b"anonymize series:" + label, hashlib.sha256).digest()

        return cls(derive(b"fingerprint"), derive(b"mac"), derive(b"check").hex()[:32])

    def __repr__(self) -> str:
        return "SeriesKey(***)"


@dataclass
class SeriesState:
    """A state in memory: arrays aligned on the sorted fingerprints."""

    header: SeriesHeader
    fps: np.ndarray  # uint64, sorted
    rows: np.ndarray  # int64
    hidden: np.ndarray  # uint32
    known: list[pd.Categorical]  # per key variable: the last value shown (text)

    def __dask_tokenize__(self) -> str:
        # dask names tasks by hashing their arguments: a large state is named, not hashed
        return f"series-state-{id(self)}"

    @classmethod
    def empty(cls, header: SeriesHeader) -> SeriesState:
        """The state before the first release."""
        none = categorical([])
        return cls(
            header,
            np.zeros(0, np.uint64),
            np.zeros(0, np.int64),
            np.zeros(0, np.uint32),
            [none for _ in header.key_variables],
        )

    def lookup(self, fps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each fingerprint its index in the state and whether it is there."""
        index = np.searchsorted(self.fps, fps)
        index = np.minimum(index, max(len(self.fps) - 1, 0))
        found = (self.fps[index] == fps) if len(self.fps) else np.zeros(len(fps), dtype=bool)
        return index, found

    def known_text(self, j: int, index: np.ndarray, found: np.ndarray) -> pd.Series:
        """Variable j's last shown value of the persons at ``index`` (missing when not found)."""
        import pandas as pd

        known = self.known[j]
        codes = np.where(found, known.codes[index] if len(known) else -1, -1)
        values = pd.Categorical.from_codes(codes, categories=known.categories)
        return pd.Series(values.astype(object), dtype="string")

    def table(self) -> pa.Table:
        """The state as the Arrow table written to ``series_state.parquet``."""
        import pyarrow as pa

        columns: dict[str, Any] = {
            "fingerprint": pa.array(self.fps, pa.uint64()),
            "row": pa.array(self.rows, pa.int64()),
            "hidden": pa.array(self.hidden, pa.uint32()),
        }
        for j, known in enumerate(self.known):
            dictionary = pa.array(np.asarray(known.categories, dtype=object), pa.string())
            indices = pa.array(known.codes, mask=known.codes < 0)
            columns[f"known_{j}"] = pa.DictionaryArray.from_arrays(indices, dictionary)
        return pa.table(columns)


def categorical(values: Any) -> pd.Categorical:
    """Values (Arrow, pandas or a list) as a Categorical whose categories are plain objects."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = (
            pc.dictionary_encode(values).to_pandas()
            if not pa.types.is_dictionary(values.type)
            else values.to_pandas()
        )
    found = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
    return pd.Categorical.from_codes(
        found.codes, categories=pd.Index(np.asarray(found.categories, dtype=object), dtype=object)
    )


def header_mac(header: SeriesHeader, key: SeriesKey) -> str:
    """The HMAC of the header (``mac`` left out): covers the state through its SHA-256."""
    body = json.loads(header.model_dump_json(exclude={"mac"}))
    data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key.mac, data, hashlib.sha256).hexdigest()


def write_state(folder: Path, state: SeriesState, key: SeriesKey) -> SeriesHeader:
    """Write ``series_state.parquet`` and ``series.json`` into ``folder`` (the staging)."""
    import pyarrow.parquet as pq

    pq.write_table(state.table(), folder / STATE, compression="zstd")
    digest = hashlib.sha256((folder / STATE).read_bytes()).hexdigest()
    update = {"state_sha256": digest, "key_check": key.check, "persons": len(state.fps), "mac": ""}
    header = state.header.model_copy(update=update)
    header = header.model_copy(update={"mac": header_mac(header, key)})
    (folder / HEADER).write_text(header.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return header


def _refused(message: str, code: str, usage: bool = False) -> RecipeError | InputDataError:
    kind = RecipeError if usage else InputDataError
    return kind([Problem(message, code=code)], title="--previous cannot be used")


def read_state(folder: Path, key: SeriesKey, expect: dict[str, Any]) -> SeriesState:
    """The verified state of the release in ``folder``.

    ``expect`` holds ``recipe_name``, ``person`` and ``key_variables`` of this run.

    Raises:
        RecipeError: another series (recipe, person column or key variables) or another key.
        InputDataError: no state, or one that is damaged or was changed (exit 3).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    header = _read_header(folder)
    for name, value in expect.items():
        if getattr(header, name) != value:
            message = f"{folder} belongs to another series ({name} differs)"
            raise _refused(
                message + ": start a new series (run without --previous)",
                "other_series",
                usage=True,
            )
    if not hmac.compare_digest(header.key_check, key.check):
        raise _refused(
            f"{folder}'s series was kept under another key than this one", "other_key", usage=True
        )
    path = folder / STATE
    try:
        data = _read_bytes(path)
    except OSError:
        raise _refused(f"{folder} holds no readable {STATE}", "no_state") from None
    intact = hashlib.sha256(data).hexdigest() == header.state_sha256
    if not (intact and hmac.compare_digest(header.mac, header_mac(header, key))):
        raise _refused(
            f"{folder}'s series state was changed after it was written (its MAC "
            "does not verify): it cannot be trusted",
            "state_tampered",
        )
    return _from_table(header, pq.read_table(pa.BufferReader(data)))


def _read_bytes(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _read_header(folder: Path) -> SeriesHeader:
    try:
        text = _read_bytes(folder / HEADER)
    except OSError:
        raise _refused(
            f"{folder} holds no series state ({HEADER}): it was published without "
            "the series key, so a new series starts with a run without --previous",
            "no_state",
        ) from None
    try:
        if len(text) > _MAX_HEADER:
            raise ValueError("too large")
        return SeriesHeader.model_validate_json(text)
    except (ValueError, ValidationError):
        raise _refused(f"{folder}/{HEADER} is damaged or was edited", "state_tampered") from None


def _from_table(header: SeriesHeader, table: pa.Table) -> SeriesState:
    known = [categorical(table.column(f"known_{j}")) for j in range(len(header.key_variables))]
    return SeriesState(
        header,
        table.column("fingerprint").to_numpy().astype(np.uint64),
        table.column("row").to_numpy().astype(np.int64),
        table.column("hidden").to_numpy().astype(np.uint32),
        known,
    )
