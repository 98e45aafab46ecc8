"""Risk of a whole file of any size in bounded memory: chunks in, per-combination results out.

The file is read in chunks of records. Key variables get codes from one dictionary per column
for the whole file (first appearance), and every record is sent to a bucket by a hash of its
key combination, so all records of a combination land in the same bucket (spilled to disk past
a memory limit). Each bucket then gives its distinct combinations with record counts and weight
sums (and l-diversity of its classes). Frequencies fk/Fk and risks are computed over the
distinct combinations of the WHOLE file together (a missing value matches any value, across
buckets). Household risk regroups records by a 64-bit hash of the household id in a second
spill. Memory holds the distinct combinations plus one bucket, never a per-record array of the
file.

Household ids are compared by a 64-bit hash: two households can only merge if their hashes
collide (about 5e-5 for 40 million households), and a merged household only raises the figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.risk.encode import _indices, _label
from pipeline.risk.frequencies import Missing, distinct_rows, factorize
from pipeline.risk.ldiversity import l_diversity
from pipeline.risk.measures import distinct_risk
from pipeline.risk.spill import Spill, bucket_of, row_hash

Chunks = Callable[[list[str]], Iterable[Any]]  # columns -> Arrow tables/record batches


class Dictionary:
    """One column's codes over the whole file: values numbered in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def encode(self, column: Any) -> np.ndarray:
        """int32 codes of an Arrow column (-1 = missing)."""
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        local = column.dictionary.to_pylist()
        index = self.index
        mapping = np.array(
            [-1 if v is None else index.setdefault(v, len(index)) for v in local] + [-1],
            dtype=np.int32,
        )
        return mapping[_indices(column.indices)]  # -1 (missing) picks the last entry

    def labels(self) -> list[str]:
        """The label of each code."""
        return [_label(v) for v in self.index]


def value_hashes(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of an Arrow column's values (equal values, equal hashes) and validity."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    values = column.dictionary.to_numpy(zero_copy_only=False)
    if values.dtype == object:
        hashed = pd.util.hash_array(values, categorize=False)
    else:
        hashed = pd.util.hash_array(values)
    idx = _indices(column.indices)
    valid = idx >= 0
    return np.where(valid, hashed[np.maximum(idx, 0)], 0).astype(np.uint64), valid


@dataclass
class StreamedRisk:
    """What the risk report needs, per distinct key combination of the whole file."""

    ucodes: np.ndarray  # distinct key-code vectors (g x m, -1 = missing)
    counts: np.ndarray  # records per combination
    fk_u: np.ndarray
    rk_u: np.ndarray
    labels: list[list[str]]
    summary: dict
    l_diversity: dict[str, dict] = field(default_factory=dict)


def stream_risk(
    chunks: Chunks,
    keys: list[str],
    k: int = 3,
    weight: str | None = None,
    household: str | None = None,
    sensitive: tuple[str, ...] = (),
    missing: Missing = "any",
    workdir: Path | None = None,
) -> StreamedRisk:
    """Measure risk over every chunk that ``chunks(columns)`` yields (the whole file)."""
    m = len(keys)
    dictionaries = [Dictionary() for _ in keys]
    dtypes: dict[str, Any] = {f"c{j}": np.int32 for j in range(m)}
    dtypes["w"] = np.float64
    if household:
        dtypes.update(h=np.uint64, hv=np.bool_)
    for i, _ in enumerate(sensitive):
        dtypes.update({f"s{i}": np.uint64, f"sv{i}": np.bool_})
    names = list(dict.fromkeys([*keys, *([weight] if weight else []), *sensitive]))
    names += [household] if household and household not in names else []
    with Spill(dtypes, workdir) as spill:
        for chunk in chunks(names):
            arrays = {f"c{j}": d.encode(chunk.column(key)) for j, (key, d) in
                      enumerate(zip(keys, dictionaries, strict=True))}  # fmt: skip
            codes = np.column_stack([arrays[f"c{j}"] for j in range(m)]) if m else None
            arrays["w"] = _weights(chunk, weight)
            if household:
                arrays["h"], arrays["hv"] = value_hashes(chunk.column(household))
            for i, name in enumerate(sensitive):
                arrays[f"s{i}"], arrays[f"sv{i}"] = value_hashes(chunk.column(name))
            spill.add(bucket_of(row_hash(codes)), arrays)
        return _measure(spill, keys, dictionaries, k, weight is not None, bool(household),
                        list(sensitive), missing, workdir)  # fmt: skip


def _weights(chunk: Any, weight: str | None) -> np.ndarray:
    if weight is None:
        return np.ones(chunk.num_rows)
    column = pc.cast(chunk.column(weight), pa.float64())
    values = np.asarray(pc.fill_null(column, 0.0).to_numpy(zero_copy_only=False), np.float64)
    return np.nan_to_num(values, nan=0.0)


def _codes(part: dict[str, np.ndarray], m: int) -> np.ndarray:
    n = part["w"].size
    codes = np.empty((n, m), dtype=np.int32, order="F")
    for j in range(m):
        codes[:, j] = part[f"c{j}"]
    return codes


def _measure(
    spill: Spill,
    keys: list[str],
    dictionaries: list[Dictionary],
    k: int,
    weighted: bool,
    household: bool,
    sensitive: list[str],
    missing: Missing,
    workdir: Path | None,
) -> StreamedRisk:
    m = len(dictionaries)
    ucodes, counts, sums, offsets = [], [], [], [0]
    ldiv: dict[str, list[dict]] = {name: [] for name in sensitive}
    for b in range(spill.buckets):
        part = spill.read(b)
        codes = _codes(part, m)
        first, inverse = distinct_rows(codes)
        ucodes.append(codes[first])
        counts.append(np.bincount(inverse, minlength=first.size).astype(np.float64))
        sums.append(np.bincount(inverse, weights=part["w"], minlength=first.size))
        offsets.append(offsets[-1] + first.size)
        for i, name in enumerate(sensitive):
            if codes.shape[0]:
                ldiv[name].append(_l_div(codes, inverse, part[f"s{i}"], part[f"sv{i}"]))
        if not household:
            spill.drop(b)
    all_codes = np.concatenate(ucodes) if ucodes else np.zeros((0, m), np.int32)
    del ucodes  # one list at a time: the peak is one copy of the table, not two
    all_counts = np.concatenate(counts) if counts else np.zeros(0)
    del counts
    all_sums = np.concatenate(sums) if sums else np.zeros(0)
    del sums
    fk_u, Fk_u, rk_u, summary = distinct_risk(  # noqa: N806
        all_codes, all_counts, all_sums if weighted else all_counts, k, weighted, missing
    )
    del Fk_u, all_sums
    if household:
        total = _household(spill, rk_u, offsets, m, workdir)
        summary["household_expected_reidentifications"] = total
        summary["household_global_risk"] = total / summary["records"] if summary["records"] else 0.0
    labels = [d.labels() for d in dictionaries]
    summary["key_variables"] = {
        key: {"categories": len(labels[j]), "missing": int(all_counts[all_codes[:, j] < 0].sum())}
        for j, key in enumerate(keys)
    }
    return StreamedRisk(
        all_codes, all_counts, fk_u, rk_u, labels, summary,
        {name: merge_l_diversity(parts) for name, parts in ldiv.items()},
    )  # fmt: skip


def _l_div(codes: np.ndarray, classes: np.ndarray, hashes: np.ndarray, valid: np.ndarray) -> dict:
    values = np.full(hashes.size, -1, dtype=np.int64)
    if valid.any():
        values[valid] = factorize(hashes[valid].view(np.int64))[0]
    return l_diversity(codes, values, classes=classes)


def merge_l_diversity(parts: list[dict]) -> dict:
    """Combine l-diversity summaries of disjoint sets of classes."""
    parts = [p for p in parts if p.get("classes")]
    if not parts:
        return {"classes": 0}
    classes = sum(p["classes"] for p in parts)
    recursive = sum(p["classes_recursive_cl"] for p in parts)
    return {
        "classes": classes,
        "min_distinct_l": min(p["min_distinct_l"] for p in parts),
        "records_in_classes_with_distinct_l_1": sum(
            p["records_in_classes_with_distinct_l_1"] for p in parts
        ),
        "min_entropy_l": min(p["min_entropy_l"] for p in parts),
        "recursive_c": parts[0]["recursive_c"],
        "recursive_l": parts[0]["recursive_l"],
        "classes_recursive_cl": recursive,
        "share_classes_recursive_cl": recursive / classes,
    }


def _household(
    spill: Spill, rk_u: np.ndarray, offsets: list[int], m: int, workdir: Path | None
) -> float:
    """Sum over records of their household's risk ``1 - prod(1 - rk)`` (ER of households)."""
    total = 0.0
    with Spill({"h": np.uint64, "l": np.float64}, workdir) as homes:
        for b in range(spill.buckets):
            part = spill.read(b)
            spill.drop(b)
            rk = rk_u[offsets[b] + distinct_rows(_codes(part, m))[1]]
            alone = ~part["hv"]  # no household id: a household of its own
            total += float(rk[alone].sum())
            with np.errstate(divide="ignore"):
                log_safe = np.log1p(-np.clip(rk[~alone], 0.0, 1.0))
            homes.add(bucket_of(part["h"][~alone]), {"h": part["h"][~alone], "l": log_safe})
        for b in range(homes.buckets):
            part = homes.read(b)
            homes.drop(b)
            if not part["h"].size:
                continue
            ids, size = factorize(part["h"].view(np.int64))
            logs = np.bincount(ids, weights=part["l"], minlength=size)
            members = np.bincount(ids, minlength=size)
            total += float((members * -np.expm1(logs)).sum())
    return total
