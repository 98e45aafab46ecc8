"""What ``anonymize run`` does before the run itself: GX's worker started early."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import run as cli_run
from pipeline.gate import gx_worker


@pytest.mark.parametrize(("contracts", "started"), [("{output: c.yaml}", 1), ("{}", 0)])
def test_gx_starts_before_the_run_only_for_a_recipe_with_a_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contracts: str, started: int
) -> None:
    calls: list[None] = []
    monkeypatch.setattr(gx_worker, "warm_up", lambda: calls.append(None))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\ncontracts: {contracts}\n", encoding="utf-8")
    cli_run.start_early(recipe)
    assert len(calls) == started
