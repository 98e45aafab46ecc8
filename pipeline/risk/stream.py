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

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.groups import distinct_rows, factorize
from pipeline.risk.encode import (
    dictionary_encoded,
    dictionary_indices,
    label_of,
    value_hashes,
    weights_from_arrow,
)
from pipeline.risk.extras import Extras
from pipeline.risk.frequencies import Missing
from pipeline.risk.ldiversity import hashed_l_diversity, merge_l_diversity
from pipeline.risk.measures import distinct_risk
from pipeline.risk.spill import Spill, bucket_of, row_hash

_THREADS = 2  # numpy and Arrow release the GIL for most of the per-chunk and per-bucket work


class Dictionary:
    """One column's codes over the whole file: values numbered in order of first appearance."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def codes(self, values: list, indices: np.ndarray) -> np.ndarray:
        """Codes of a chunk's own dictionary ``values`` and ``indices`` (see ``local_codes``).

        Chunks must come in file order: new values are numbered as they first appear.
        """
        index = self.index
        mapping = np.array(
            [-1 if v is None else index.setdefault(v, len(index)) for v in values] + [-1],
            dtype=np.int32,
        )
        return mapping[indices]  # -1 (missing) picks the last entry

    def labels(self) -> list[str]:
        """The label of each code."""
        return [label_of(v) for v in self.index]


def local_codes(column: Any) -> tuple[list, np.ndarray]:
    """A column's own dictionary (values) and indices (-1 = missing); safe in any thread."""
    column = dictionary_encoded(column)
    return column.dictionary.to_pylist(), dictionary_indices(column.indices)


def _ordered(pool: ThreadPoolExecutor, func: Callable, items: Iterable, ahead: int = 2) -> Any:
    """``map(func, items)`` on the pool, at most ``ahead`` items in flight, results in order."""
    waiting: deque = deque()
    for item in items:
        waiting.append(pool.submit(func, item))
        if len(waiting) > ahead:
            yield waiting.popleft().result()
    while waiting:
        yield waiting.popleft().result()


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


class RiskStream:
    """Risk of a whole file fed chunk by chunk (``add``), measured at the end (``finish``).

    Chunks (Arrow tables or record batches holding ``columns``) must come in file order: key
    codes are numbered as values first appear, so the result does not depend on how the file
    is cut into chunks. Use as a context manager (the spill folder is removed on leaving).
    ``spill_bytes``: what the buckets hold in memory before they go to disk (default
    ``SPILL_BYTES``); the figures are the same whatever it is.
    """

    def __init__(
        self,
        keys: list[str],
        k: int = 3,
        weight: str | None = None,
        household: str | None = None,
        sensitive: tuple[str, ...] = (),
        missing: Missing = "any",
        workdir: Path | None = None,
        extras: Extras | None = None,
        spill_bytes: int | None = None,
    ) -> None:
        self.extras = extras or Extras()  # SUDA2, model risk: only when asked
        self.keys, self.k, self.weight, self.household = keys, k, weight, household
        self.sensitive, self.missing, self.workdir = list(sensitive), missing, workdir
        self.dictionaries = [Dictionary() for _ in keys]
        dtypes: dict[str, Any] = {f"c{j}": np.int32 for j in range(len(keys))}
        dtypes["w"] = np.float64
        if household:  # i: the record's combination in its bucket, put by ``finish``
            dtypes.update(h=np.uint64, hv=np.bool_, i=np.int32)
        for i, _ in enumerate(sensitive):
            dtypes.update({f"s{i}": np.uint64, f"sv{i}": np.bool_})
        names = list(dict.fromkeys([*keys, *([weight] if weight else []), *sensitive]))
        self.columns = names + ([household] if household and household not in names else [])
        self._spill = Spill(dtypes, workdir, limit=spill_bytes)
        self._spill_bytes = spill_bytes
        self._pool = ThreadPoolExecutor(_THREADS)
        self._waiting: deque = deque()

    def __enter__(self) -> RiskStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the spill and the threads (``finish`` does it too)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._spill.close()

    def add(self, chunk: Any) -> None:
        """Take one chunk of records (its heavy part runs in a thread, two chunks ahead).

        Chunks already prepared are taken at once: when the last chunk comes, only its own
        work is left for ``finish`` (a measure pass of two files had both left).
        """
        self._waiting.append(self._pool.submit(self._prepare, chunk))
        while self._waiting and (len(self._waiting) > 2 or self._waiting[0].done()):
            self._take(self._waiting.popleft().result())

    def _prepare(self, chunk: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"keys": [local_codes(chunk.column(key)) for key in self.keys]}
        weight, household = self.weight, self.household
        out["w"] = weights_from_arrow(chunk, weight) if weight else np.ones(chunk.num_rows)
        if household:
            out["h"], out["hv"] = value_hashes(chunk.column(household))
        for i, name in enumerate(self.sensitive):
            out[f"s{i}"], out[f"sv{i}"] = value_hashes(chunk.column(name))
        return out

    def _take(self, arrays: dict[str, Any]) -> None:
        local = arrays.pop("keys")
        for j, d in enumerate(self.dictionaries):  # in file order: codes are deterministic
            arrays[f"c{j}"] = d.codes(*local[j])
        codes = np.column_stack([arrays[f"c{j}"] for j in range(len(self.keys))])
        self._spill.add(bucket_of(row_hash(codes)), arrays)

    def finish(self) -> StreamedRisk:
        """The risk of everything added."""
        try:
            while self._waiting:
                self._take(self._waiting.popleft().result())
            return _measure(
                self._spill,
                self._pool,
                self.keys,
                self.dictionaries,
                self.k,
                self.weight is not None,
                bool(self.household),
                self.sensitive,
                self.missing,
                self.workdir,
                self.extras,
                self._spill_bytes,
            )
        finally:
            self.close()


def _codes(part: dict[str, np.ndarray], m: int) -> np.ndarray:
    n = part["w"].size
    codes = np.empty((n, m), dtype=np.int32, order="F")
    for j in range(m):
        codes[:, j] = part[f"c{j}"]
    return codes


@dataclass
class _Combinations:
    """The distinct combinations of every bucket, one after the other (see ``_combinations``)."""

    codes: np.ndarray  # distinct key-code vectors (g x m)
    counts: np.ndarray  # records per combination
    sums: np.ndarray  # weight per combination
    offsets: list[int]  # where each bucket's combinations start
    inclusion: np.ndarray | None  # sum of inclusion probabilities (model risk only)
    l_diversity: dict[str, dict]


def _combinations(
    spill: Spill,
    pool: ThreadPoolExecutor,
    dictionaries: list[Dictionary],
    sensitive: list[str],
    household: bool,
    inclusion: bool,
) -> _Combinations:
    """Each bucket's combinations with record counts, weight sums and l-diversity, in threads.

    With ``household``, each record's combination is put beside its bucket (``i``) for the
    households' pass, and the buckets are kept; else each is dropped once read.
    """
    m = len(dictionaries)
    # the table of combinations is the memory that grows with the file: the narrowest codes
    narrow = np.int16 if max((len(d.index) for d in dictionaries), default=0) < 2**15 else np.int32
    read = [f"c{j}" for j in range(m)] + ["w"]
    read += [f"{a}{i}" for i in range(len(sensitive)) for a in ("s", "sv")]

    def bucket(b: int) -> tuple:  # one bucket's combinations and l-diversity, in a thread
        part = spill.read(b, read)
        codes = _codes(part, m)
        first, inverse = distinct_rows(codes)
        ldiv = [
            hashed_l_diversity(codes, inverse, part[f"s{i}"], part[f"sv{i}"])
            for i in range(len(sensitive))
            if codes.shape[0]
        ]
        probabilities = None
        if inclusion:  # each combination's sum of inclusion probabilities
            with np.errstate(divide="ignore"):
                probabilities = np.bincount(inverse, 1.0 / part["w"], minlength=first.size)
        return (
            codes[first].astype(narrow),
            np.bincount(inverse, minlength=first.size).astype(np.float64),
            np.bincount(inverse, weights=part["w"], minlength=first.size),
            ldiv,
            probabilities,
            inverse.astype(np.int32) if household else None,  # the households' pass reads it
        )

    ucodes, counts, sums, offsets, inclusions = [], [], [], [0], []
    ldiv: dict[str, list[dict]] = {name: [] for name in sensitive}
    for b, (u, c, w, parts, probabilities, inverse) in enumerate(
        _ordered(pool, bucket, range(spill.buckets))
    ):
        if inverse is not None:
            spill.put(b, "i", inverse)
        else:
            spill.drop(b)
        if probabilities is not None:
            inclusions.append(probabilities)
        ucodes.append(u)
        counts.append(c)
        sums.append(w)
        offsets.append(offsets[-1] + u.shape[0])
        for name, summary in zip(sensitive, parts, strict=False):
            ldiv[name].append(summary)
    all_codes = np.concatenate(ucodes) if ucodes else np.zeros((0, m), np.int32)
    del ucodes  # one list at a time: the peak is one copy of the table, not two
    all_counts = np.concatenate(counts) if counts else np.zeros(0)
    del counts
    return _Combinations(
        all_codes,
        all_counts,
        np.concatenate(sums) if sums else np.zeros(0),
        offsets,
        np.concatenate(inclusions) if inclusions else None,
        {name: merge_l_diversity(parts) for name, parts in ldiv.items()},
    )


def _measure(
    spill: Spill,
    pool: ThreadPoolExecutor,
    keys: list[str],
    dictionaries: list[Dictionary],
    k: int,
    weighted: bool,
    household: bool,
    sensitive: list[str],
    missing: Missing,
    workdir: Path | None,
    extras: Extras,
    spill_bytes: int | None = None,
) -> StreamedRisk:
    found = _combinations(
        spill, pool, dictionaries, sensitive, household, extras.model and weighted
    )
    codes, counts = found.codes, found.counts
    fk_u, Fk_u, rk_u, summary = distinct_risk(  # noqa: N806
        codes, counts, found.sums if weighted else counts, k, weighted, missing
    )
    total_weight = float(found.sums.sum()) if weighted else None
    del Fk_u
    found.sums = np.zeros(0)
    if household:
        total = _household(spill, pool, rk_u, found.offsets, workdir, spill_bytes)
        summary["household_expected_reidentifications"] = total
        summary["household_global_risk"] = total / summary["records"] if summary["records"] else 0.0
    summary.update(extras.summaries(codes, counts, found.inclusion, keys, missing, total_weight))
    labels = [d.labels() for d in dictionaries]
    summary["key_variables"] = {
        key: {"categories": len(labels[j]), "missing": int(counts[codes[:, j] < 0].sum())}
        for j, key in enumerate(keys)
    }
    return StreamedRisk(codes, counts, fk_u, rk_u, labels, summary, found.l_diversity)


def _household(
    spill: Spill,
    pool: ThreadPoolExecutor,
    rk_u: np.ndarray,
    offsets: list[int],
    workdir: Path | None,
    spill_bytes: int | None = None,
) -> float:
    """Sum over records of their household's risk ``1 - prod(1 - rk)`` (ER of households).

    Each record's combination is the one its bucket's pass found (``i``), not grouped again.
    """

    def risks(b: int) -> tuple[np.ndarray, np.ndarray, float]:  # a bucket's records, in a thread
        part = spill.read(b, ["i", "h", "hv"])
        rk = rk_u[offsets[b] + part["i"].astype(np.int64)]  # past 2^31 combinations too
        alone = ~part["hv"]  # no household id: a household of its own
        with np.errstate(divide="ignore"):
            log_safe = np.log1p(-np.clip(rk[~alone], 0.0, 1.0))
        return part["h"][~alone], log_safe, float(rk[alone].sum())

    def homes_of(b: int) -> float:  # one bucket of households, in a thread
        part = homes.read(b)
        if not part["h"].size:
            return 0.0
        ids, size = factorize(part["h"].view(np.int64))
        logs = np.bincount(ids, weights=part["l"], minlength=size)
        members = np.bincount(ids, minlength=size)
        return float((members * -np.expm1(logs)).sum())

    total = 0.0
    with Spill({"h": np.uint64, "l": np.float64}, workdir, limit=spill_bytes) as homes:
        for b, (hashes, logs, alone) in enumerate(_ordered(pool, risks, range(spill.buckets))):
            spill.drop(b)
            total += alone
            homes.add(bucket_of(hashes), {"h": hashes, "l": logs})
        for b, subtotal in enumerate(_ordered(pool, homes_of, range(homes.buckets))):
            homes.drop(b)
            total += subtotal
    return total
