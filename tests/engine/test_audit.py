"""``--gate-only`` catches every tampering of a published output (issue 24).

The census demo is published once per module (and once more with a signed manifest); each case
copies the output, tampers with it as an attacker or a careless hand would, and re-validates it
with the command an auditor runs. Every case must end in exit 4 (invalid) naming the checks that
caught it, or exit 3 when there is nothing readable to check; never in exit 0 or 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pipeline
from pipeline.gate.catalog import loaded
from tests.conftest import copy_demo, run_entry

KEY_ENV = "ANON_TEST_SIGNING_KEY"
KEY = "a signing key of at least sixteen bytes"
DATA = "data/part-00000.parquet"


def _publish(root: Path, signed: bool) -> Path:
    recipe = copy_demo(root)
    if signed:
        text = recipe.read_text().replace(
            "output: {dir: out/census_demo, format: parquet}",
            f"output: {{dir: out/census_demo, format: parquet, signing_key_env: {KEY_ENV}}}",
        )
        assert KEY_ENV in text
        recipe.write_text(text)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv(KEY_ENV, KEY)
        pipeline.run(str(recipe))
    return root / "out" / "census_demo"


@pytest.fixture
def published(published_demo: Path) -> Path:
    """The demo's output, published once per session (not signed; tests work on copies)."""
    return published_demo / "out" / "census_demo"


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's output, published once with a signed manifest."""
    return _publish(tmp_path_factory.mktemp("signed"), signed=True)


def _copy(source: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of the published folder's root (recipes, data, output); cwd set to it."""
    root = tmp_path / "root"
    shutil.copytree(source.parent.parent, root, symlinks=True)
    monkeypatch.chdir(root)
    return root / "out" / "census_demo"


def audit(out: Path, capfd: pytest.CaptureFixture[str]) -> tuple[int, set[str], str]:
    """Run ``--gate-only``: exit code, ids of the failed checks, what was printed."""
    report = out.parent.parent / "audit.json"
    report.unlink(missing_ok=True)
    code, text = run_entry(
        ["run", "recipes/census_demo.yaml", "--gate-only", str(out), "--gate-report", str(report)],
        capfd,
    )
    failed: set[str] = set()
    if report.exists():
        checks = json.loads(report.read_text())["output"]["checks"]
        failed = {c["id"] for c in checks if not c["passed"]}
    assert "Traceback" not in text and code != 1, text
    return code, failed, text


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rerecord(out: Path, name: str) -> None:
    """Set the manifest's SHA-256 (and size) of ``name`` to the file's current one."""

    def change(m: dict) -> None:
        for entry in [*m["files"], *m["artifacts"]]:
            if entry["path"] == name:
                entry["sha256"] = sha(out / name)
                if "bytes" in entry:
                    entry["bytes"] = (out / name).stat().st_size

    edit_json(out / "manifest.json", change)


def edit_income(out: Path) -> None:
    """The first record's income (not a key variable) changed in the data file."""
    table = pq.read_table(out / DATA)
    values = table.column("income").to_pylist()
    values[0] = (values[0] or 0) + 1
    index = table.schema.get_field_index("income")
    table = table.set_column(index, "income", pa.array(values, table.schema.field(index).type))
    pq.write_table(table, out / DATA)


def step(m: dict, name: str, column: str) -> dict:
    return next(s for s in m["steps"] if s["name"] == name and s["params"].get("column") == column)


def _cap_times_ten(m: dict) -> None:
    facts = step(m, "top_code", "income")["facts"]
    facts["threshold"] *= 10
    facts["replace_with"] *= 10


def _data_symlink(out: Path) -> None:
    shutil.move(out / "data", out.parent / "elsewhere")
    os.symlink(out.parent / "elsewhere", out / "data")


def _income_and_its_sha(out: Path) -> None:
    edit_income(out)
    rerecord(out, DATA)


def _notice_and_its_sha(out: Path) -> None:
    (out / "public_notice.md").write_text("# nothing to see\n")
    rerecord(out, "public_notice.md")


def _pages_and_their_sha(out: Path) -> None:
    for name in ("public_notice.html", "codebook.html"):  # a page that says other than its text
        page = (out / name).read_text(encoding="utf-8")
        (out / name).write_text(page.replace("</h1>", " (draft)</h1>", 1), encoding="utf-8")
        rerecord(out, name)


def _report_and_its_sha(out: Path) -> None:
    edit_json(
        out / "risk_report.json",
        lambda r: r["after"]["summary"].update(k_violations=0, global_risk=0.0),
    )
    rerecord(out, "risk_report.json")


def _codebook_and_its_sha(out: Path) -> None:
    def fewer(book: dict) -> None:  # a category's records changed, as if to hide a small one
        column = next(c for c in book["columns"] if c["categories"])
        column["categories"][0]["records"] += 1

    edit_json(out / "codebook.json", fewer)
    rerecord(out, "codebook.json")


def _report_removed_from_the_record(out: Path) -> None:
    (out / "risk_report.html").unlink()
    edit_json(
        out / "manifest.json",
        lambda m: m.update(
            artifacts=[a for a in m["artifacts"] if a["path"] != "risk_report.html"]
        ),
    )


def _truncated(out: Path) -> None:
    data = (out / DATA).read_bytes()
    (out / DATA).write_bytes(data[: len(data) // 2])


CASES: dict[str, tuple[Callable[[Path], None], int, set[str]]] = {
    "unlisted-file-in-data-sub": (
        lambda out: (
            (out / "data" / "sub").mkdir() or (out / "data" / "sub" / "x.csv").write_text("a\n1\n")
        ),
        4,
        {"output.listing"},
    ),
    "unlisted-empty-folder": (lambda out: (out / "extra").mkdir(), 4, {"output.listing"}),
    "data-replaced-by-symlink": (_data_symlink, 4, set()),
    "file-symlink-in-data": (
        lambda out: os.symlink(out / DATA, out / "data" / "part-00001.parquet"),
        4,
        set(),
    ),
    "rows-out-off-by-one": (
        lambda out: edit_json(
            out / "manifest.json", lambda m: m.update(rows_out=m["rows_out"] + 1)
        ),
        4,
        {"manifest.rows"},
    ),
    "rows-in-edited": (
        lambda out: edit_json(out / "manifest.json", lambda m: m.update(rows_in=m["rows_in"] - 5)),
        4,
        {"manifest.rows"},
    ),
    "run-id-edited": (
        lambda out: edit_json(out / "manifest.json", lambda m: m.update(run_id="0" * 32)),
        4,
        {"risk_report.json", "manifest.gate"},
    ),
    "seed-edited": (
        lambda out: edit_json(out / "manifest.json", lambda m: m.update(seed=m["seed"] + 1)),
        4,
        {"manifest.recipe_facts"},
    ),
    "step-fact-income-cap-x10": (
        lambda out: edit_json(out / "manifest.json", _cap_times_ten),
        4,
        {"risk_report.json"},
    ),
    "step-parameter-edited": (
        lambda out: edit_json(
            out / "manifest.json", lambda m: step(m, "top_code", "age")["params"].update(above=120)
        ),
        4,
        {"manifest.recipe_facts"},
    ),
    "utility-figure-edited": (
        lambda out: edit_json(
            out / "manifest.json", lambda m: m["utility"].update(precision_loss=0.01)
        ),
        4,
        {"risk_report.json"},
    ),
    "utility-categories-edited": (
        lambda out: edit_json(
            out / "manifest.json",
            lambda m: m["utility"]["variables"][0].update(categories_after=99),
        ),
        4,
        {"manifest.utility", "risk_report.json"},
    ),
    "risk-after-edited": (
        lambda out: edit_json(
            out / "manifest.json", lambda m: m["risk_after"].update(global_risk=0.0)
        ),
        4,
        {"manifest.risk_after"},
    ),
    "gate-verdict-edited": (
        lambda out: edit_json(out / "manifest.json", lambda m: m["gate"].update(passed=False)),
        4,
        {"manifest.gate"},
    ),
    "column-types-edited": (
        lambda out: edit_json(
            out / "manifest.json", lambda m: m["column_types"].update(age="string")
        ),
        4,
        {"manifest.columns"},
    ),
    "risk-report-json-edited": (
        lambda out: edit_json(out / "risk_report.json", lambda r: r.update(k=99)),
        4,
        {"manifest.artifacts", "risk_report.json"},
    ),
    "risk-report-html-edited": (
        lambda out: (out / "risk_report.html").write_text("<p>all fine</p>"),
        4,
        {"manifest.artifacts"},
    ),
    "notice-edited": (
        lambda out: (out / "public_notice.md").write_text("# edited\n"),
        4,
        {"manifest.artifacts", "public_notice.md"},
    ),
    "risk-report-json-deleted": (
        lambda out: (out / "risk_report.json").unlink(),
        4,
        {"manifest.artifacts", "output.listing", "risk_report.json"},
    ),
    "risk-report-html-deleted": (
        lambda out: (out / "risk_report.html").unlink(),
        4,
        {"manifest.artifacts"},
    ),
    "notice-deleted": (
        lambda out: (out / "public_notice.md").unlink(),
        4,
        {"manifest.artifacts", "public_notice.md"},
    ),
    "report-deleted-with-its-record": (_report_removed_from_the_record, 4, {"manifest.artifacts"}),
    "codebook-deleted": (
        lambda out: (out / "codebook.md").unlink(),
        4,
        {"manifest.artifacts", "codebook.json"},
    ),
    "codebook-edited-with-its-sha": (_codebook_and_its_sha, 4, {"codebook.json"}),
    "data-edited-with-its-sha": (_income_and_its_sha, 4, {"risk_report.json"}),
    "notice-edited-with-its-sha": (_notice_and_its_sha, 4, {"public_notice.md"}),
    "pages-edited-with-their-sha": (_pages_and_their_sha, 4, {"public_notice.md", "codebook.json"}),
    "report-edited-with-its-sha": (_report_and_its_sha, 4, {"risk_report.json"}),
    "data-edited": (edit_income, 4, {"manifest.files"}),
    "data-truncated": (_truncated, 4, set()),
    "manifest-deleted": (lambda out: (out / "manifest.json").unlink(), 4, set()),
    "manifest-corrupt": (lambda out: (out / "manifest.json").write_text('{"tool": '), 4, set()),
    "manifest-not-a-manifest": (
        lambda out: edit_json(out / "manifest.json", lambda m: m.update(steps=5)),
        4,
        set(),
    ),
}


def test_the_untouched_output_is_valid(
    published: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(published, monkeypatch, tmp_path)
    code, failed, text = audit(out, capfd)
    assert code == 0 and not failed, text
    manifest = json.loads((out / "manifest.json").read_text())
    assert {a["path"] for a in manifest["artifacts"]} == {
        "risk_report.json",
        "risk_report.html",
        "public_notice.md",
        "public_notice.html",
        "codebook.json",
        "codebook.md",
        "codebook.html",
    }
    assert manifest["signature"] is None


def test_gate_only_of_a_fresh_output_gives_the_run_s_checks_and_verdicts(
    published: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(published, monkeypatch, tmp_path)
    ran = json.loads((out / "manifest.json").read_text())["gate"]["output"]["checks"]
    code, failed, text = audit(out, capfd)
    assert code == 0 and not failed, text
    audited = json.loads((out.parent.parent / "audit.json").read_text())["output"]["checks"]
    # every check the run judged, judged again with the same reason and verdict, and no other
    # but those of the kinds only --gate-only judges (integrity, listing, the manifest's facts)
    own = {str(r) for kind in loaded().values() if kind.audit for r in kind.reasons}
    again = {c["id"]: (c["reason"], c["passed"]) for c in audited if c["reason"] not in own}
    assert {c["id"]: (c["reason"], c["passed"]) for c in ran} == again
    assert {c["reason"] for c in audited} & own


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_gate_only_catches_tampering(
    name: str, published: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    tamper, expected_code, expected_checks = CASES[name]
    out = _copy(published, monkeypatch, tmp_path)
    tamper(out)
    code, failed, text = audit(out, capfd)
    assert code == expected_code, text
    assert expected_checks <= failed, (failed, text)
    assert "INVALID" in text, text


def test_nothing_to_check_is_exit_3(
    published: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(published, monkeypatch, tmp_path)
    code, _, text = audit(out.parent / "absent", capfd)
    assert code == 3 and "does not exist" in text, text


@pytest.mark.slow
def test_the_signed_output_verifies(
    signed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(signed, monkeypatch, tmp_path)
    monkeypatch.setenv(KEY_ENV, KEY)
    code, failed, text = audit(out, capfd)
    assert code == 0 and not failed, text
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["signature"]["key_env"] == KEY_ENV
    assert KEY not in (out / "manifest.json").read_text()


def _everything_consistent(out: Path) -> None:
    """Edit the data and re-record every file and fact that holds it: only a key can tell."""
    edit_income(out)
    rerecord(out, DATA)
    manifest = json.loads((out / "manifest.json").read_text())
    edit_json(out / "risk_report.json", lambda r: r.update(files=manifest["files"]))
    rerecord(out, "risk_report.json")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["consistent-edit", "signature-removed", "wrong-key"])
def test_a_signature_catches_any_edit(
    how: str, signed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(signed, monkeypatch, tmp_path)
    monkeypatch.setenv(KEY_ENV, KEY)
    if how == "consistent-edit":
        _everything_consistent(out)
    elif how == "signature-removed":
        edit_json(out / "manifest.json", lambda m: m.update(signature=None))
    else:
        monkeypatch.setenv(KEY_ENV, KEY + " but another")
    code, failed, text = audit(out, capfd)
    assert code == 4 and "manifest.signature" in failed, text


@pytest.mark.slow
def test_the_consistent_edit_passes_without_a_key(
    published: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    """What the signature is for: every record edited together agrees with itself."""
    out = _copy(published, monkeypatch, tmp_path)
    _everything_consistent(out)
    code, failed, text = audit(out, capfd)
    assert code == 0 and not failed, text


@pytest.mark.slow
def test_a_signed_output_needs_its_key(
    signed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd
) -> None:
    out = _copy(signed, monkeypatch, tmp_path)
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, _, text = audit(out, capfd)
    assert code == 2 and f"environment variable {KEY_ENV} is not set" in text, text


def test_differences_name_key_paths_and_tolerate_the_last_bits() -> None:
    from pipeline.engine.audit_diff import differences

    expected = {"a": 1, "b": [1.0, {"c": True}], "d": "x"}
    assert differences(expected, {"a": 1, "b": [1.0 + 1e-12, {"c": True}], "d": "x"}) == []
    found = {"a": True, "b": [1.1, {"c": 1}], "e": "x"}
    assert differences(expected, found) == ["a", "b[0]", "b[1].c", "d", "e"]
    assert differences([1, 2], [1]) == ["."]


def test_a_key_path_never_repeats_a_key_it_does_not_know() -> None:
    from pipeline.engine.audit_diff import shown_path

    assert shown_path("steps[3].facts.threshold", set()) == "steps[3].facts.threshold"
    assert shown_path("steps[3].facts.Yamada Taro", set()) == "steps[3].facts.<key>"
    assert shown_path("risk_after.key_variables.age.missing", {"age"}) == (
        "risk_after.key_variables.age.missing"
    )
    assert shown_path("risk_after.key_variables.tokyo13", {"age"}) == (
        "risk_after.key_variables.<key>"
    )
    assert shown_path("plantcatqx7", set()) == "<key>"
