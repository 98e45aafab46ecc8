"""l-diversity / t-closeness of a file fed table by table equals a direct pandas computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.stats import wasserstein_distance

from pipeline.risk import combinations
from pipeline.risk.diversity import DiversityStream
from pipeline.risk.privacy import LDiversity, TCloseness


def _frame(seed: int = 0, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.integers(0, 12, n).astype(str),
            "b": rng.integers(0, 3, n).astype(float),
            "s": rng.integers(0, 6, n) * 10,
        }
    ).assign(b=lambda f: f["b"].where(rng.random(n) > 0.05))


def _fed(frame: pd.DataFrame, stream: DiversityStream, pieces: int) -> dict:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    step = -(-len(frame) // pieces)
    for start in range(0, len(frame), step):
        stream.add(table.slice(start, step))
    return stream.finish()


def test_counts_records_in_classes_breaking_l_and_t(monkeypatch) -> None:
    monkeypatch.setattr(combinations, "_MERGE_ROWS", 50)  # merge often
    frame = _frame()
    frame.loc[frame.index[:40], ["a", "b"]] = [None, np.nan]  # records without a key value
    stream = DiversityStream(
        ["a", "b"], LDiversity(column="s", l=5), TCloseness(column="s", t=0.12)
    )
    found = _fed(frame, stream, 7)
    linked = frame[frame[["a", "b"]].notna().any(axis=1)]
    groups = linked.groupby(["a", "b"], dropna=False)["s"]
    sizes = groups.size()
    l_bad = groups.nunique() < 5
    assert found["l_violations"] == int(sizes[l_bad].sum())
    values = np.sort(frame["s"].unique())
    rank = {v: i for i, v in enumerate(values)}
    whole = frame["s"].map(rank).to_numpy()
    t_bad = 0
    for _, part in groups:
        d = wasserstein_distance(part.map(rank).to_numpy(), whole) / (len(values) - 1)
        t_bad += len(part) if d > 0.12 else 0
    assert found["t_violations"] == t_bad and 0 < t_bad < len(frame)


def test_pieces_do_not_change_the_counts() -> None:
    frame = _frame(seed=3)
    one = _fed(frame, DiversityStream(["a", "b"], LDiversity(column="s", l=3), None), 1)
    many = _fed(frame, DiversityStream(["a", "b"], LDiversity(column="s", l=3), None), 13)
    assert one == many and set(one) == {"l_violations"}
