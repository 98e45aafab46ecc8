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
