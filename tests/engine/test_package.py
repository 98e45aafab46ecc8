"""``--package DIR``: the recipient bundle holds the published data, the notice and a listing.

Never the processing record (manifest, recipe, seed, reports); written only after a gate that
passed; built beside DIR and renamed into place; a DIR the tool did not write is refused and
left as it was, a symlink included.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipeline
from pipeline.cli.app import app
from pipeline.engine.package import CONTENTS, write_package
from tests.conftest import REPO, copy_demo, demo_recipe, tree

STEPS = "  - top_code: {column: age, above: 90}\n"


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_package_is_the_data_the_notice_the_codebook_and_a_listing(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    result = invoke("run", str(recipe), "-q", "--package", "bundle")
    assert result.exit_code == 0, result.output
    out, bundle = workdir / "out" / "run", workdir / "bundle"
    manifest = json.loads((out / "manifest.json").read_text())
    data = [f["path"] for f in manifest["files"]]
    assert data and all(p.startswith("data/") for p in data)
    documents = [
        "public_notice.md",
        "public_notice.html",
        "codebook.md",
        "codebook.html",
        "codebook.json",
    ]
    assert sorted(tree(bundle)) == sorted([*data, *documents, CONTENTS])
    for path in [*data, *documents]:
        assert (bundle / path).read_bytes() == (out / path).read_bytes()
    listing = json.loads((bundle / CONTENTS).read_text())
    assert listing["run_id"] == manifest["run_id"] and listing["kind"] == "recipient_package"
    described = [{"path": p, "sha256": sha(out / p)} for p in documents]
    assert listing["files"] == [*manifest["files"], *described]
    assert set(listing) == {"tool", "schema_version", "kind", "run_id", "created", "files"}
    assert "census.csv" not in (bundle / CONTENTS).read_text()  # no processing record
    beside = sorted(p.name for p in workdir.iterdir() if p.name.startswith(".bundle"))
    assert beside == [".bundle.lock"]  # no staging folder left


@pytest.mark.slow
def test_a_later_run_replaces_its_own_package_but_not_a_changed_one(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    assert invoke("run", str(recipe), "-q", "--package", "bundle").exit_code == 0
    first = json.loads((workdir / "bundle" / CONTENTS).read_text())["run_id"]
    assert invoke("run", str(recipe), "-q", "--package", "bundle").exit_code == 0
    listing = json.loads((workdir / "bundle" / CONTENTS).read_text())
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    assert listing["run_id"] == manifest["run_id"] != first
    (workdir / "bundle" / "notes.txt").write_text("mine")
    before, output = tree(workdir / "bundle"), tree(workdir / "out")
    result = invoke("run", str(recipe), "-q", "--package", "bundle")
    assert result.exit_code == 2 and "notes.txt" in result.output
    assert "Traceback" not in result.output
    assert tree(workdir / "bundle") == before and tree(workdir / "out") == output  # before the run


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["user folder", "tool output", "file"])
def test_a_folder_the_tool_did_not_write_is_refused_before_the_run(workdir: Path, kind) -> None:
    target, recipe = workdir / "theirs", demo_recipe(workdir, STEPS)
    if kind == "user folder":
        target.mkdir()
        (target / "report.docx").write_text("precious")
    elif kind == "tool output":
        assert invoke("run", str(recipe), "-q", "--output", "theirs").exit_code == 0
    else:
        target.write_text("precious")
    before = tree(workdir)
    result = invoke("run", str(recipe), "-q", "--package", "theirs")
    assert result.exit_code == 2, result.output
    assert "refusing" in result.output and "Traceback" not in result.output
    assert tree(workdir) == before and not (workdir / "out").exists()


def test_a_symlink_package_folder_is_refused_and_not_followed(workdir: Path) -> None:
    victim = workdir / "victim"
    victim.mkdir()
    (workdir / "bundle").symlink_to(victim)
    result = invoke("run", str(demo_recipe(workdir, STEPS)), "-q", "--package", "bundle")
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert (workdir / "bundle").is_symlink() and list(victim.iterdir()) == []


@pytest.mark.slow
def test_no_package_when_the_gate_blocks(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    assert invoke("run", str(recipe), "-q", "--package", "bundle").exit_code == 0
    before = tree(workdir / "bundle")
    blocked = demo_recipe(workdir, STEPS, extra="risk: {k: 1000}\n")
    assert invoke("run", str(blocked), "-q", "--package", "bundle").exit_code == 4
    assert invoke("run", str(blocked), "-q", "--package", "fresh").exit_code == 4
    assert tree(workdir / "bundle") == before and not (workdir / "fresh").exists()


def test_a_package_inside_the_output_or_with_gate_only_is_refused(workdir: Path) -> None:
    recipe = demo_recipe(workdir, STEPS)
    for args in (
        ["--package", "out/run/pkg"],
        ["--package", "out"],
        ["--package", ""],
        ["--package", "p", "--gate-only", "out/run"],
    ):
        result = invoke("run", str(recipe), "-q", *args)
        assert result.exit_code == 2, (args, result.output)
    assert not (workdir / "out").exists() and not (workdir / "p").exists()


@pytest.mark.slow
def test_a_changed_output_or_another_run_is_never_packaged(workdir: Path) -> None:
    result = pipeline.run(demo_recipe(workdir, STEPS))
    manifest = result.manifest
    with pytest.raises(pipeline.RecipeError, match="another run"):
        write_package(result.out_dir, workdir / "pkg", "0" * 32)
    victim = workdir / "victim.parquet"
    shutil.copy(result.out_dir / manifest.files[0].path, victim)
    data = result.out_dir / manifest.files[0].path
    data.unlink()
    data.symlink_to(victim)  # a planted symlink: never read through
    with pytest.raises(pipeline.RecipeError, match="symbolic link"):
        write_package(result.out_dir, workdir / "pkg", manifest.run_id)
    data.unlink()
    shutil.copy(victim, data)
    notice = result.out_dir / "public_notice.md"
    original = notice.read_bytes()
    notice.write_text("# edited after publishing\n")  # the notice is recorded (artifacts) too
    with pytest.raises(pipeline.RecipeError, match="sha256"):
        write_package(result.out_dir, workdir / "pkg", manifest.run_id)
    notice.write_bytes(original)
    data.unlink()
    data.write_bytes(b"changed")
    with pytest.raises(pipeline.RecipeError, match="sha256"):
        write_package(result.out_dir, workdir / "pkg", manifest.run_id)
    assert not (workdir / "pkg").exists()
    assert [p.name for p in workdir.glob(".pkg.package-*")] == []


@pytest.mark.slow
def test_leftovers_of_a_killed_package_run_are_removed_only_with_their_marker(
    workdir: Path,
) -> None:
    token = "a" * 32
    ours = workdir / f".bundle.package-staging-{token}"
    ours.mkdir()
    marker = {
        "tool": "anonymize-pipeline",
        "schema_version": "1.0",
        "kind": "package_staging",
        "token": token,
    }
    (ours / ".owner").write_text(json.dumps(marker))
    theirs = workdir / f".bundle.package-staging-{'b' * 32}"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    result = pipeline.run(demo_recipe(workdir, STEPS), package="bundle")
    assert result.package == Path("bundle") and (workdir / "bundle" / CONTENTS).is_file()
    assert not ours.exists() and (theirs / "keep.txt").read_text() == "mine"


@pytest.mark.slow
def test_a_tabulation_package_holds_its_tables_and_listing(workdir: Path) -> None:
    copy_demo(workdir)
    shutil.copy(REPO / "recipes" / "census_tables.yaml", workdir / "recipes")
    found = pipeline.api.tabulate("recipes/census_tables.yaml", package="tables_pkg")
    out, bundle = found.out_dir, workdir / "tables_pkg"
    files = [f for t in found.manifest.tables for f in t.files]
    assert sorted(tree(bundle)) == sorted([*files, "tables/tables.html", CONTENTS])
    listing = json.loads((bundle / CONTENTS).read_text())
    assert {f["path"]: f["sha256"] for f in listing["files"]} == {
        p: sha(out / p) for p in [*files, "tables/tables.html"]
    }
    assert not (bundle / "review").exists() and not (bundle / "manifest.json").exists()
    cells = {f: t.cells for t in found.manifest.tables for f in t.files}
    rows = {f["path"]: f.get("rows") for f in listing["files"] if f["path"] in cells}
    assert rows == cells  # every table file with its rows (one per cell)
    for path, n in rows.items():
        lines = (bundle / path).read_bytes().count(b"\n") if path.endswith(".csv") else None
        assert lines is None or lines == n + 1  # a header and a row per cell
