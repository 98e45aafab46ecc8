"""The attacker of a release series: links releases and merges what they show (issue 25).

An attacker holding several releases of a series links a person's records across them: on a
token that two releases share (a stable surrogate), else on exact published values that are
unique in both (income, say). For each linked person they merge the key values the releases
show. Nothing may be learnt that way:

* ``revealed``: a value one release hid (missing) and a later release shows, for a linked person;
* ``below_k``: linked records whose merged key values (missing matching any value) are
  compatible with fewer than k records of the release, the others merged the same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.risk.encode import codes_from_pandas
from pipeline.risk.frequencies import distinct_frequencies


def load(out: Path) -> pd.DataFrame:
    """Every record of a published release (Parquet or CSV)."""
    files = sorted((out / "data").glob("*.parquet"))
    if files:
        return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return pd.concat(
        [pd.read_csv(f, dtype=str) for f in sorted((out / "data").glob("*.csv"))], ignore_index=True
    )


def text(values: pd.Series) -> pd.Series:
    """Values as comparable text (30 and 30.0 alike)."""
    number = pd.to_numeric(values, errors="coerce")
    out = values.astype("string")
    whole = number.notna() & (number % 1 == 0)
    out[whole] = number[whole].astype("int64").astype("string")
    return out


def link(a: pd.DataFrame, b: pd.DataFrame, on: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of the records of ``a`` and ``b`` linked one to one on ``on``."""
    ka = a[on].apply(text).fillna("").astype(object).agg("|".join, axis=1)
    kb = b[on].apply(text).fillna("").astype(object).agg("|".join, axis=1)
    ka, kb = ka.where(a[on].notna().all(axis=1)), kb.where(b[on].notna().all(axis=1))
    ua, ub = ka.value_counts(), kb.value_counts()
    common = sorted(set(ua[ua == 1].index) & set(ub[ub == 1].index))
    ia = pd.Series(np.arange(len(a)), index=ka.to_numpy()).loc[common].to_numpy(dtype=np.int64)
    ib = pd.Series(np.arange(len(b)), index=kb.to_numpy()).loc[common].to_numpy(dtype=np.int64)
    return ia, ib


def revealed(
    a: pd.DataFrame, b: pd.DataFrame, ia: np.ndarray, ib: np.ndarray, keys: list[str]
) -> int:
    """Values ``a`` hid and ``b`` shows, over the linked records (``a`` released first)."""
    return sum(
        int((a[key].isna().to_numpy()[ia] & b[key].notna().to_numpy()[ib]).sum()) for key in keys
    )


def merged(
    target: pd.DataFrame, others: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]], keys: list[str]
) -> pd.DataFrame:
    """``target``'s key values, each missing one filled from the other releases (in order)."""
    out = target[keys].apply(text)
    for other, i_target, i_other in others:
        for key in keys:
            fill = text(other[key]).to_numpy()[i_other]
            current = out[key].to_numpy(dtype=object)[i_target]
            gap = pd.isna(current)
            column = out[key].to_numpy(dtype=object)
            column[i_target[gap]] = fill[gap]
            out[key] = pd.array(column, dtype="string")
    return out


def below_k(frame: pd.DataFrame, rows: np.ndarray, keys: list[str], k: int) -> int:
    """Of ``rows``, the records whose key values match fewer than k records (missing: any)."""
    codes = codes_from_pandas(frame, keys)
    ones = np.ones(len(frame))
    fk = distinct_frequencies(codes, ones, ones, "any")[0]
    return int((fk[rows] < k).sum())


def attack(
    releases: list[pd.DataFrame], keys: list[str], k: int, on: list[str], tokens: str | None = None
) -> dict[str, int]:
    """Link every pair of releases; what the attacker learns against each release."""
    found = {"linked": 0, "revealed": 0, "below_k": 0, "shared_tokens": 0}
    for j, target in enumerate(releases):
        others, linked = [], set()
        for i, other in enumerate(releases):
            if i == j:
                continue
            it, io = link(target, other, on)
            others.append((other, it, io))
            linked |= set(it.tolist())
            if i < j:
                found["revealed"] += revealed(other, target, io, it, keys)
                found["linked"] += len(it)
                if tokens is not None:
                    found["shared_tokens"] += len(
                        set(other[tokens].dropna()) & set(target[tokens].dropna())
                    )
        nearest = sorted(range(len(others)), key=lambda n: abs((n + (n >= j)) - j))
        view = merged(target, [others[n] for n in nearest], keys)
        found["below_k"] += below_k(view, np.array(sorted(linked), dtype=np.int64), keys, k)
    return found
