"""Every kind of gate check, verified against its declaration (``pipeline.gate.catalog``).

The evidence is real: the census demo run as a signed release of a series (input contract,
identifier scan, series view), ``--gate-only`` on its output (the audit's kinds), the survey demo
(microaggregation groups, utility limits, output contract) and the census tables. Each kind is
then run again on that evidence with every field it did not declare poisoned: a kind that reads
more than it declares fails, and so does one whose checks report a reason code or a stage it
does not declare, or whose results differ from the ones the gate judged.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from typing import Any

import pytest

import pipeline.engine.audit as audit_mod
import pipeline.tabulate.phases as tabulate_phases
from pipeline import api
from pipeline.engine.audit import gate_only
from pipeline.engine.prepare import RunOptions, effective_recipe
from pipeline.gate import judge
from pipeline.gate.catalog import BEFORE_PASS, CheckKind, Evidence, kinds, loaded
from pipeline.gate.gx_engine import validate_tables
from pipeline.gate.model import CheckResult
from pipeline.gate.reasons import Reason
from pipeline.recipe.loader import load_recipe
from tests.conftest import REPO, copy_demo, invoke

KINDS = loaded()  # every kind: the gate's, the engine's, the audit's, the tabulation's
FIELDS = {f.name for f in dataclasses.fields(Evidence)}
ALWAYS = {"stage", "recipe"}


class Poisoned:
    """Evidence whose undeclared fields raise when a kind reads them."""

    def __init__(self, evidence: Evidence, allowed: set[str], kind: str) -> None:
        self._evidence, self._allowed, self._kind = evidence, allowed, kind

    def __getattr__(self, name: str) -> Any:
        if name not in self._allowed:
            raise AssertionError(f"kind {self._kind} reads {name}, which it does not declare")
        return getattr(self._evidence, name)


@dataclasses.dataclass
class Seen:
    """A stage the gate judged: its evidence, its kinds, and each kind's checks as judged and
    as computed again with the evidence poisoned (taken while the staged files exist)."""

    evidence: Evidence
    chosen: list[CheckKind]
    judged: dict[str, list[CheckResult]]
    again: dict[str, list[CheckResult] | str]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> list[Seen]:
    """Every stage the gate judged in four real runs."""
    seen: list[Seen] = []
    stage_result = judge.stage_result

    def spy(evidence: Evidence, chosen: list[CheckKind]) -> Any:
        again: dict[str, list[CheckResult] | str] = {}
        for kind in chosen:
            try:
                again[kind.name] = _again(kind, evidence)
            except AssertionError as exc:  # a poisoned read: reported by the test
                again[kind.name] = str(exc)
        judged = {kind.name: kind.judged(evidence) for kind in chosen}
        seen.append(Seen(evidence, list(chosen), judged, again))
        return stage_result(evidence, chosen)

    root = tmp_path_factory.mktemp("catalog")
    recipe = copy_demo(root)
    text = recipe.read_text().replace("format: parquet}", "format: parquet, signing_key_env: KEY}")
    recipe.write_text(text)
    shutil.copy(REPO / "examples" / "survey_sample.csv", root / "examples")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("ANON_SERIES_KEY", "a series key of at least sixteen bytes")
        patch.setenv("KEY", "a signing key of at least sixteen bytes")
        patch.setattr(judge, "stage_result", spy)
        patch.setattr(audit_mod, "stage_result", spy)
        patch.setattr(tabulate_phases, "stage_result", spy)
        out = api.run(recipe, quiet=True).out_dir
        loaded = load_recipe(recipe)
        assert gate_only(loaded, effective_recipe(loaded, RunOptions()), out).passed
        api.run(root / "recipes" / "survey_demo.yaml", quiet=True)
        api.tabulate(root / "recipes" / "census_tables.yaml", quiet=True)
    return seen


def test_the_catalogue_first_read_holds_every_kind_the_gate_declares() -> None:
    """``loaded()`` in a fresh process names every gate module that registers a kind."""
    probe = (
        "import importlib, pkgutil\n"
        "import pipeline.gate as gate\n"
        "from pipeline.gate import catalog\n"
        "first = set(catalog.loaded())\n"
        "for module in pkgutil.iter_modules(gate.__path__):\n"
        "    importlib.import_module('pipeline.gate.' + module.name)\n"
        "print(sorted(set(catalog.KINDS) - first))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "[]", "a gate module registers kinds outside DECLARING"


def test_each_reason_code_belongs_to_one_kind() -> None:
    claims: dict[Reason, list[str]] = {}
    for kind in KINDS.values():
        for reason in kind.reasons:
            claims.setdefault(reason, []).append(kind.name)
    # check_error is what any row check reports when it cannot run (it fails closed)
    assert set(claims) == set(Reason) - {Reason.CHECK_ERROR}
    assert {r: names for r, names in claims.items() if len(names) > 1} == {}


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_kind_declares_what_it_reads_and_how_it_is_measured(name: str) -> None:
    kind = KINDS[name]
    assert kind.summary and kind.reasons and kind.stages
    assert set(kind.reads) <= FIELDS - ALWAYS, "reads names a field the evidence does not have"
    assert kind.rows or kind.stream or kind.table, "a kind measures something"
    if kind.rows or kind.stream:  # measured in the pass: only what is known before it
        assert kind.scope == "microdata"
        assert set(kind.reads) & BEFORE_PASS, "a pass needs the data's schema"
    assert not (kind.audit and kind.scope == "tables")


def test_every_kind_is_judged_on_real_evidence(judged: list[Seen]) -> None:
    produced = {name for seen in judged for name, results in seen.judged.items() if results}
    assert produced == set(KINDS)


def test_the_gate_judges_with_the_kinds_of_its_stage(judged: list[Seen]) -> None:
    for seen in judged:
        evidence = seen.evidence
        scope = "tables" if evidence.tables else "microdata"
        audit = evidence.published is not None
        assert [k.name for k in seen.chosen] == [
            k.name for k in kinds(evidence.stage, audit, scope)
        ]
        results = [r for found in seen.judged.values() for r in found]
        assert len({r.id for r in results}) == len(results), "check ids are unique in a stage"


def _again(kind: CheckKind, evidence: Evidence) -> list[CheckResult]:
    """The kind's checks computed again with every undeclared field poisoned."""
    before = Poisoned(evidence, ALWAYS | (set(kind.reads) & BEFORE_PASS), kind.name)
    out: list[CheckResult] = []
    if kind.rows is not None:
        checks = kind.rows(before)  # type: ignore[arg-type]
        if checks:
            needed = list(dict.fromkeys(c.column for c in checks if c.column))
            out += validate_tables(evidence.data.chunks(needed), checks, evidence.stage)[0]
    if kind.stream is not None:
        stream = kind.stream(before)  # type: ignore[arg-type]
        if stream is not None:
            for table in evidence.data.chunks(stream.columns):
                stream.add(table)
            out += stream.results(evidence.data)
    if kind.table is not None:
        out += kind.table(Poisoned(evidence, ALWAYS | set(kind.reads), kind.name))  # type: ignore[arg-type]
    return out


def _shown(results: list[CheckResult]) -> list[tuple]:
    return [(r.id, r.reason, r.observed, r.passed) for r in results]


def test_each_kind_reads_only_what_it_declares_and_reports_its_own_reasons(
    judged: list[Seen],
) -> None:
    for seen in judged:
        for kind in seen.chosen:
            again = seen.again[kind.name]
            assert not isinstance(again, str), again
            allowed = {*kind.reasons, *([Reason.CHECK_ERROR] if kind.rows else [])}
            for result in again:
                assert result.reason in allowed, (kind.name, result.id)
                assert result.stage == seen.evidence.stage, (kind.name, result.id)
                assert result.source == kind.source, (kind.name, result.id)
            assert _shown(again) == _shown(seen.judged[kind.name]), kind.name


def test_anonymize_checks_lists_every_kind_with_its_reason_codes() -> None:
    result = invoke("checks")
    assert result.exit_code == 0, result.output
    for kind in KINDS.values():
        assert f"{kind.name} (" in result.output
        assert all(str(reason) in result.output for reason in kind.reasons)
