"""GX's worker process: counts come back, a dead or failing worker fails closed, none waits."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa

from pipeline.gate import gx_worker
from pipeline.gate.checks import RowCheck, cap_check
from pipeline.gate.gx_engine import RowValidator, validate_tables

AGES = pa.table({"age": pa.array([3, 95, None, 120, 40] * 200)})


def test_a_killed_worker_fails_its_checks_closed_and_the_next_run_gets_a_new_one() -> None:
    check = cap_check("age", 90, upper=True)
    validator = RowValidator([check], "output")
    gx_worker.stop()
    validator.add(pa.table({"age": list(range(1000))}))  # all distinct: sent as it comes
    gx_worker._WORKER[0].process.kill()  # as the kernel's OOM killer would
    (result,), _, _ = validator.finish()
    assert not result.passed and result.reason == "check_error"
    (again,), _, _ = validate_tables([AGES], [check], "output")
    assert again.observed == 400 and not again.passed


def test_an_expectation_gx_cannot_run_fails_closed_without_its_message() -> None:
    broken = RowCheck(
        id="text.pattern",
        reason="pattern_mismatch",
        column="text",
        description="text matches",
        expectations=(("ExpectColumnValuesToMatchRegex", {"column": "text", "regex": "(["}),),
    )
    table = pa.table({"text": ["SECRET-VALUE", "b"] * 10})
    (result,), _, _ = validate_tables([table], [broken], "output")
    assert not result.passed and result.reason == "check_error"
    assert "SECRET" not in result.model_dump_json()


def test_stop_does_not_wait_for_the_worker_s_imports() -> None:
    gx_worker.stop()
    gx_worker.warm_up()  # a fresh worker: GX's imports take seconds
    process = gx_worker._WORKER[0].process
    start = time.perf_counter()
    gx_worker.stop()
    assert process.poll() is not None  # gone, not left behind
    assert time.perf_counter() - start < 60  # generous: the point is it returns at all


def test_a_script_without_a_main_guard_validates(tmp_path: Path) -> None:
    """The worker is its own program: a caller's script is never run again to start it."""
    script = tmp_path / "notebook_like.py"
    script.write_text(
        textwrap.dedent(
            """
            import pyarrow as pa
            from pipeline.gate.checks import cap_check
            from pipeline.gate.gx_engine import validate_tables

            print("ran")
            (result,), _, _ = validate_tables(
                [pa.table({"age": [1, 99, 100]})], [cap_check("age", 90, upper=True)], "output"
            )
            print("observed", result.observed)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["ran", "observed", "2"]


def test_an_expectation_left_unanswered_fails_closed(monkeypatch) -> None:  # noqa: ANN001
    """An answer that leaves out an expectation never counts it as passed."""
    from concurrent.futures import Future

    def answer_nothing(table, expectations, distinct):  # noqa: ANN001, ANN202
        done: Future = Future()
        done.set_result([])  # no count for any expectation
        return done

    monkeypatch.setattr(gx_worker, "submit", answer_nothing)
    (result,), _, _ = validate_tables([AGES], [cap_check("age", 90, upper=True)], "output")
    assert not result.passed and result.reason == "check_error"


KINDS = [  # every GX expectation the gate asks for, with the count each must give on TEXTS
    ("ExpectColumnValuesToBeBetween", {"column": "n", "min_value": 0, "max_value": 90}, 2),
    ("ExpectColumnValuesToBeInSet", {"column": "t", "value_set": ["a", "b"]}, 1),
    ("ExpectColumnValuesToNotBeInSet", {"column": "t", "value_set": ["c"]}, 1),
    ("ExpectColumnValuesToMatchRegex", {"column": "t", "regex": "^[ab]$"}, 1),
    ("ExpectColumnValuesToNotBeNull", {"column": "n"}, 1),
    ("ExpectColumnValueLengthsToBeBetween", {"column": "t", "min_value": 1, "max_value": 1}, 0),
]


def _in_a_fresh_worker(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter started as the worker starts; its printed words."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_the_worker_answers_every_kind_without_running_what_gx_imports_for_nothing() -> None:
    """scipy.stats and altair are imported by GX but never run for the gate's expectations."""
    kinds = [(k, name, kwargs) for k, (name, kwargs, _) in enumerate(KINDS)]
    words = _in_a_fresh_worker(
        f"""
        import sys
        import pyarrow as pa
        from pipeline.gate import gx_worker

        gx_worker._start()
        table = pa.table({{"n": [1, 95, None, 120], "t": ["a", "b", "c", "a"]}})
        print(*[count for _, count in gx_worker._validate(table, {kinds!r}, False)])
        print(*[len(found) for _, found in gx_worker._validate(table, {kinds!r}, True)])
        print(*[name in sys.modules for name in gx_worker.DEFERRED])
        print(*[m in sys.modules for m in ("scipy.stats._stats_py", "altair.vegalite")])
        """
    )
    counts = [str(count) for _, _, count in KINDS]  # as counts, and as unexpected positions
    assert words == [*counts, *counts, "True", "True", "False", "False"]


def test_a_deferred_module_runs_when_first_used() -> None:
    words = _in_a_fresh_worker(
        """
        from pipeline.gate import gx_worker

        gx_worker.defer_unused_imports()
        gx_worker.defer_unused_imports()  # once is enough: no second finder
        import sys
        import scipy.stats
        import altair

        print(sum(type(f).__name__ == "_OnFirstUse" for f in sys.meta_path))
        print(scipy.stats.norm.cdf(0.0), callable(altair.Chart))
        """
    )
    assert words == ["1", "0.5", "True"]
