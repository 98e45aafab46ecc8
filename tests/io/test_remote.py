"""Object storage in and out (``s3://``), against moto's S3 server started by the tests."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import demo_recipe, run_entry

pytest.importorskip("s3fs", reason="object storage needs s3fs (pip install -e '.[test]')")
moto_server = pytest.importorskip("moto.server", reason="moto's server runs the S3 tests")

STEPS = "  - top_code: {column: age, above: 90}\n  - shuffle_records: {}\n"
SECRET = "test-SECRET-qx7-do-not-print"


@pytest.fixture(scope="module")
def s3():
    """A local S3-compatible server; the environment points the S3 libraries at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://{host}:{port}",
    )
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield s3fs.S3FileSystem()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


@pytest.fixture
def bucket(s3) -> str:
    name = f"b-{uuid.uuid4().hex[:10]}"
    s3.mkdir(name)
    return name


def listing(s3, prefix: str) -> dict[str, int]:
    return {k.split("/", 2)[2]: s3.info(k)["size"] for k in s3.find(prefix)}


def test_a_run_reads_and_publishes_in_a_bucket_as_it_does_locally(
    workdir: Path, capfd, s3, bucket: str
) -> None:
    s3.put_file(str(workdir / "data" / "census.csv"), f"{bucket}/in/census.csv")
    recipe = demo_recipe(workdir, STEPS, output="out/local")
    assert run_entry(["run", str(recipe), "-q"], capfd)[0] == 0
    argv = ["run", str(recipe), "--input", f"s3://{bucket}/in/census.csv"]
    code, output = run_entry([*argv, "--output", f"s3://{bucket}/release"], capfd)
    assert code == 0, output
    assert f"published 2000 of 2000 rows to s3://{bucket}/release" in output
    remote = listing(s3, f"{bucket}/release")
    local = {
        p.relative_to(workdir / "out" / "local").as_posix(): p.stat().st_size
        for p in (workdir / "out" / "local").rglob("*")
        if p.is_file()
    }
    assert set(remote) == set(local) and "manifest.json" in remote
    manifest = json.loads(s3.cat(f"{bucket}/release/manifest.json"))
    assert manifest["input"]["path"] == f"s3://{bucket}/in/census.csv"
    mine = json.loads((workdir / "out" / "local" / "manifest.json").read_text())
    assert manifest["input"]["sha256"] == mine["input"]["sha256"]  # the same bytes
    data = "data/part-00000.parquet"
    assert s3.cat(f"{bucket}/release/{data}") == (workdir / "out" / "local" / data).read_bytes()
    assert SECRET not in output

    code, output = run_entry(["run", str(recipe), "--gate-only", f"s3://{bucket}/release"], capfd)
    assert code == 0 and f"s3://{bucket}/release: valid against" in output, output


def test_a_folder_of_parquet_objects_is_an_input(workdir: Path, capfd, s3, bucket: str) -> None:
    import pandas as pd

    frame = pd.read_csv(workdir / "data" / "census.csv", dtype=str)
    for i, part in enumerate((frame[:1000], frame[1000:])):
        local = workdir / f"part-{i}.parquet"
        part.to_parquet(local, index=False)
        s3.put_file(str(local), f"{bucket}/parts/part-{i}.parquet")
    recipe = demo_recipe(workdir, STEPS)
    argv = ["run", str(recipe), "-q", "--input", f"s3://{bucket}/parts/"]
    code, output = run_entry(argv, capfd)
    assert code == 0, output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    assert manifest["rows_in"] == 2000 and manifest["input"]["path"] == f"s3://{bucket}/parts/"


def test_a_new_release_replaces_its_own_files_and_leaves_others(
    workdir: Path, capfd, s3, bucket: str
) -> None:
    s3.put_file(str(workdir / "data" / "census.csv"), f"{bucket}/census.csv")
    target = f"s3://{bucket}/release"
    first = demo_recipe(workdir, STEPS, extra="")
    argv = ["run", str(first), "-q", "--input", f"s3://{bucket}/census.csv", "--output", target]
    assert run_entry(argv, capfd)[0] == 0
    s3.pipe(f"{bucket}/release/data/old-only.parquet", b"x")  # as if the last release had it
    manifest = json.loads(s3.cat(f"{bucket}/release/manifest.json"))
    manifest["files"].append({"path": "data/old-only.parquet", "rows": 1, "sha256": "0" * 64})
    s3.pipe(f"{bucket}/release/manifest.json", json.dumps(manifest).encode())
    s3.pipe(f"{bucket}/release/someone-elses.txt", b"theirs")  # not listed: never touched
    code, output = run_entry(argv, capfd)
    assert code == 0, output
    names = set(listing(s3, f"{bucket}/release"))
    assert "data/old-only.parquet" not in names and "someone-elses.txt" in names
    assert json.loads(s3.cat(f"{bucket}/release/manifest.json"))["run_id"] != manifest["run_id"]


def test_a_prefix_with_objects_but_no_manifest_of_ours_is_never_written(
    workdir: Path, capfd, s3, bucket: str
) -> None:
    s3.pipe(f"{bucket}/theirs/report.csv", b"a,b\n")
    recipe = demo_recipe(workdir, STEPS)
    code, output = run_entry(["run", str(recipe), "--output", f"s3://{bucket}/theirs"], capfd)
    assert code == 2 and "did not write" in output
    assert set(listing(s3, f"{bucket}/theirs")) == {"report.csv"}


def test_an_interrupted_publish_leaves_no_manifest_readers_would_trust(
    workdir: Path, capfd, s3, bucket: str, monkeypatch
) -> None:
    recipe = demo_recipe(workdir, STEPS)
    target = f"s3://{bucket}/release"
    assert run_entry(["run", str(recipe), "-q", "--output", target], capfd)[0] == 0
    import s3fs

    calls = {"n": 0}
    real = s3fs.S3FileSystem._put_file  # the coroutine behind put_file

    async def failing(self, lpath, rpath, *args, **kwargs):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("the network went away (with a value 4729163)")
        return await real(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", failing)
    s3fs.S3FileSystem.clear_instance_cache()  # a cached instance wrapped the real coroutine
    code, output = run_entry(["run", str(recipe), "-q", "--output", target], capfd)
    assert code == 3 and "storage unreachable" in output and "4729163" not in output
    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", real)
    s3fs.S3FileSystem.clear_instance_cache()
    assert not s3.exists(f"{bucket}/release/manifest.json")  # the old one was taken away first
    code, output = run_entry(["run", str(recipe), "--gate-only", target], capfd)
    assert code == 4, output


def test_a_tampered_object_fails_the_gate_only_audit(workdir: Path, capfd, s3, bucket: str) -> None:
    recipe = demo_recipe(workdir, STEPS)
    target = f"s3://{bucket}/release"
    assert run_entry(["run", str(recipe), "-q", "--output", target], capfd)[0] == 0
    s3.pipe(f"{bucket}/release/public_notice.md", b"changed")
    code, output = run_entry(["run", str(recipe), "--gate-only", target], capfd)
    assert code == 4 and "INVALID" in output


@pytest.mark.parametrize(
    ("where", "says"),
    [("s3://{b}/no/such.csv", "not found"), ("s3://no-such-bucket-qx7/x.csv", "not found")],
)
def test_a_missing_object_is_named(
    workdir: Path, capfd, s3, bucket: str, where: str, says: str
) -> None:
    recipe = demo_recipe(workdir, STEPS)
    code, output = run_entry(["run", str(recipe), "--input", where.format(b=bucket)], capfd)
    assert code == 3 and says in output and SECRET not in output, output
    assert "Traceback" not in output


def test_keys_that_leave_their_prefix_are_never_followed(tmp_path: Path, s3, bucket: str) -> None:
    from pipeline.core.errors import InputDataError
    from pipeline.io import remote

    s3.pipe(f"{bucket}/p/../../escape.txt", b"x")  # a literal key holding ..
    if not any(".." in k for k in s3.find(f"{bucket}/p")):
        pytest.skip("this store normalizes keys: nothing can leave the prefix")
    with (
        pytest.raises(InputDataError, match="leaves its prefix"),
        remote.fetched(f"s3://{bucket}/p/"),
    ):
        pass
    assert not list(tmp_path.parent.glob("**/escape.txt"))


def test_options_that_cannot_name_a_store_yet_are_refused(
    workdir: Path, capfd, s3, bucket: str
) -> None:
    recipe = demo_recipe(workdir, STEPS)
    target = f"s3://{bucket}/release"
    code, output = run_entry(["run", str(recipe), "--output", target, "--package", "pkg"], capfd)
    assert code == 2 and "not packaged yet" in output
    code, output = run_entry(["run", str(recipe), "--previous", target], capfd)
    assert code == 2 and "object storage is not supported here yet" in output
