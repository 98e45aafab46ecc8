"""Work that may wait runs at a lower CPU priority: its own thread and the threads it starts."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from pipeline.core import priority


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(func):  # noqa: ANN001, ANN202
    out: dict = {}

    def body() -> None:
        out["value"] = func()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    return out["value"]


def lowerable() -> None:
    """Skip where a thread's priority cannot be lowered here (off Linux, a sandbox, nice 19)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("a thread's own priority: Linux")
    if _nice() >= priority.LOWEST:
        pytest.skip("already at the lowest priority: nothing to lower")
    if not _in_thread(lambda: priority.lower_this_thread(1)):
        pytest.skip("this system refuses a lower priority")


def test_a_thread_lowers_itself_and_the_threads_it_starts_not_the_others() -> None:
    lowerable()
    mine = _nice()

    def lowered() -> tuple[bool, int, int]:
        done = priority.lower_this_thread()
        return done, _nice(), _in_thread(_nice)

    done, own, child = _in_thread(lowered)
    assert done and own == child == min(priority.LOWEST, mine + priority.BACKGROUND)
    assert _nice() == mine  # the caller's thread is left as it was
    assert _in_thread(_nice) == mine  # and so are the threads it starts


def test_a_priority_is_lowered_no_further_than_the_lowest() -> None:
    lowerable()

    def twice() -> int:
        priority.lower_this_thread(15)
        priority.lower_this_thread(15)
        return _nice()

    assert _in_thread(twice) == priority.LOWEST


def test_elsewhere_nothing_is_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")  # setpriority would lower the whole process
    called = []
    monkeypatch.setattr(os, "setpriority", lambda *args: called.append(args), raising=False)
    assert not priority.lower_this_thread()
    assert called == []


def test_a_refused_change_leaves_the_thread_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise PermissionError("refused")

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "setpriority", refuse, raising=False)
    monkeypatch.setattr(os, "getpriority", lambda *args: 0, raising=False)
    assert not priority.lower_this_thread()
