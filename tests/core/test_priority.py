"""Work that may wait runs at a lower CPU priority: its own thread and the threads it starts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from pipeline.core import priority

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice: Linux")


def _nice(task: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, task)


def _in_thread(func):  # noqa: ANN001, ANN202
    out: dict = {}

    def body() -> None:
        out["value"] = func()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return out["value"]


@linux
def test_a_thread_lowers_itself_and_the_threads_it_starts_not_the_others() -> None:
    mine = _nice(threading.get_native_id())

    def lowered() -> tuple[bool, int, int]:
        done = priority.lower_this_thread()
        child = _in_thread(lambda: _nice(threading.get_native_id()))
        return done, _nice(threading.get_native_id()), child

    done, own, child = _in_thread(lowered)
    expected = min(priority.LOWEST, mine + priority.BACKGROUND)
    assert done and own == child == expected
    assert _nice(threading.get_native_id()) == mine  # the caller's thread is left as it was
    assert _in_thread(lambda: _nice(threading.get_native_id())) == mine


@linux
def test_a_priority_is_lowered_no_further_than_the_lowest() -> None:
    def twice() -> int:
        priority.lower_this_thread(15)
        priority.lower_this_thread(15)
        return _nice(threading.get_native_id())

    assert _in_thread(twice) == priority.LOWEST


@linux
def test_another_process_is_lowered_and_a_gone_one_is_no_error() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        before = _nice(child.pid)
        assert priority.lower(child.pid)
        assert _nice(child.pid) == min(priority.LOWEST, before + priority.BACKGROUND)
    finally:
        child.kill()
        child.wait()
    assert not priority.lower(child.pid)  # reaped: no such process


def test_elsewhere_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")  # setpriority would lower the whole process
    called = []
    monkeypatch.setattr(os, "setpriority", lambda *args: called.append(args), raising=False)
    assert not priority.lower_this_thread()
    assert not priority.lower(os.getpid())
    assert called == []
