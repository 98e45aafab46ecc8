"""The optimal univariate microaggregation (Hansen and Mukherjee's dynamic programme).

For one variable an optimal k-partition (least within-group sum of squares, groups of k to
2k - 1 records) consists of groups of consecutive sorted values, so a shortest-path recursion
over the sorted values finds it exactly: ``best[j] = min over s in [k, 2k - 1] of
best[j - s] + SSE(values j - s .. j - 1)``, with SSE from prefix sums. Positions ``j`` to
``j + k - 1`` depend only on earlier ones, so k of them are computed at once.
"""

from __future__ import annotations

import numpy as np


def optimal_groups(values: np.ndarray, k: int) -> np.ndarray:
    """Group labels of ``values`` (one variable) for the optimal k-partition.

    Ties are ordered by position, so equal inputs give equal labels. Fewer than 2k values
    form one group.
    """
    n = values.size
    if n < 2 * k:
        return np.zeros(n, dtype=np.int64)
    order = np.argsort(values, kind="stable")
    v = values[order].astype(np.float64)
    _, exponent = np.frexp(np.abs(v).max())  # scaled by a power of two: the same partition,
    v = np.ldexp(v, -exponent)  # and no square beyond the floats (values near 1e308)
    v = v - v.mean()
    s1 = np.concatenate([[0.0], np.cumsum(v)])
    s2 = np.concatenate([[0.0], np.cumsum(v * v)])
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, dtype=np.int64)
    sizes = np.arange(k, 2 * k)
    for start in range(k, n + 1, k):
        j = np.arange(start, min(start + k, n + 1))
        a = j[:, None] - sizes[None, :]  # group starts, one column per size
        ok = a >= 0
        a = np.maximum(a, 0)
        total = s1[j][:, None] - s1[a]
        cost = best[a] + (s2[j][:, None] - s2[a]) - total * total / sizes
        cost[~ok] = np.inf
        pick = np.argmin(cost, axis=1)
        best[j] = cost[np.arange(j.size), pick]
        back[j] = sizes[pick]
    labels_sorted = np.empty(n, dtype=np.int64)
    end, group = n, 0
    while end > 0:
        size = int(back[end])
        if size < k:  # only with values that are not finite (NaN costs): never loop forever
            raise ValueError("no optimal partition of values that are not finite")
        labels_sorted[end - size : end] = group
        end -= size
        group += 1
    labels = np.empty(n, dtype=np.int64)
    labels[order] = group - 1 - labels_sorted
    return labels
