"""The measure passes' consumers: fed side by side, each in order, errors not lost."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from pipeline.engine.measure import Measures


class _Taker:
    columns = ["x"]

    def __init__(self, slow: bool = False, fail_at: int | None = None) -> None:
        self.seen: list[int] = []
        self.threads: set[int] = set()
        self.slow, self.fail_at = slow, fail_at

    def add(self, table: pa.Table) -> None:
        first = table.column("x")[0].as_py()
        if first == self.fail_at:
            raise ValueError("a consumer's own error")
        if self.slow and first % 2 == 0:
            time.sleep(0.002)
        self.seen.append(first)
        self.threads.add(threading.get_ident())


def _tables(n: int) -> list[pa.Table]:
    return [pa.table({"x": [i, i]}) for i in range(n)]


def test_every_consumer_takes_every_table_once_in_order_beside_the_caller() -> None:
    takers = [_Taker(slow=True), _Taker(), _Taker(slow=True)]
    found = Measures(None, [], {}, extra=takers)  # type: ignore[arg-type]
    try:
        found.feed(_tables(40))
    finally:
        found.close()
    for taker in takers:
        assert taker.seen == list(range(40))
        assert threading.get_ident() not in taker.threads


def test_a_consumer_error_is_raised_by_the_pass_and_the_others_stop_in_order() -> None:
    good, bad = _Taker(), _Taker(fail_at=5)
    found = Measures(None, [], {}, extra=[good, bad])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="own error"):
        found.feed(_tables(10))
    found.close()
    assert bad.seen == [0, 1, 2, 3, 4]
    assert good.seen[:6] == [0, 1, 2, 3, 4, 5] and good.seen == sorted(good.seen)
