"""l-diversity of sensitive variables within equivalence classes of the key variables.

Classes are the distinct key-variable combinations (a missing key value is its own category
here, since with "missing matches any" classes overlap). For each sensitive variable:

* distinct l: number of distinct sensitive values in a class;
* entropy l: ``exp(entropy)`` of the sensitive values in a class;
* recursive (c, l): with the class's value counts sorted descending ``r1 >= r2 >= ...``, the
  class satisfies it when ``r1 < c * (r_l + r_(l+1) + ...)``.

Missing sensitive values are ignored within a class.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.groups import distinct_rows, factorize


def l_diversity(
    key_codes: np.ndarray,
    sensitive: np.ndarray,
    c: float = 2.0,
    ell: int = 2,
    classes: np.ndarray | None = None,
) -> dict[str, float | int]:
    """Summarize l-diversity of one sensitive variable (codes, -1 = missing) over the classes.

    ``classes`` (dense class ids 0..g-1 per record, e.g. from the risk measure) saves
    recomputing them from ``key_codes``.
    """
    if key_codes.shape[0] == 0:
        return {"classes": 0}
    if classes is None:
        classes = distinct_rows(key_codes)[1]
    cls = classes
    ok = sensitive >= 0
    n_classes = int(cls.max()) + 1
    pair = np.unique(
        cls[ok].astype(np.int64) * (int(sensitive.max()) + 1) + sensitive[ok], return_counts=True
    )
    pair_class = pair[0] // (int(sensitive.max()) + 1)
    counts = pair[1].astype(np.float64)
    distinct = np.bincount(pair_class, minlength=n_classes)
    totals = np.bincount(pair_class, weights=counts, minlength=n_classes)
    p = counts / totals[pair_class]
    entropy = np.bincount(pair_class, weights=-p * np.log(p), minlength=n_classes)
    entropy_l = np.exp(entropy)
    recursive = _recursive(pair_class, counts, n_classes, c, ell)
    size = np.bincount(cls, minlength=n_classes)
    return {
        "classes": n_classes,
        "min_distinct_l": int(distinct.min()),
        "records_in_classes_with_distinct_l_1": int(size[distinct <= 1].sum()),
        "min_entropy_l": float(entropy_l.min()),
        "recursive_c": c,
        "recursive_l": ell,
        "classes_recursive_cl": int(recursive.sum()),
        "share_classes_recursive_cl": float(recursive.mean()),
    }


def _recursive(
    pair_class: np.ndarray, counts: np.ndarray, n_classes: int, c: float, ell: int
) -> np.ndarray:
    order = np.lexsort((-counts, pair_class))
    cls_sorted, cnt_sorted = pair_class[order], counts[order]
    starts = np.searchsorted(cls_sorted, np.arange(n_classes))
    rank = np.arange(cls_sorted.size) - starts[cls_sorted]
    r1 = np.zeros(n_classes)
    np.maximum.at(r1, cls_sorted, np.where(rank == 0, cnt_sorted, 0.0))
    tail = np.bincount(
        cls_sorted, weights=np.where(rank >= ell - 1, cnt_sorted, 0.0), minlength=n_classes
    )
    return r1 < c * tail


def hashed_l_diversity(
    codes: np.ndarray, classes: np.ndarray, hashes: np.ndarray, valid: np.ndarray
) -> dict:
    """``l_diversity`` of a sensitive variable read as 64-bit hashes of its values.

    ``valid``: where a value is present; ``classes``: the dense class of each row of ``codes``.
    """
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
