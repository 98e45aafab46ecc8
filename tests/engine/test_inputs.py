"""The input's digest: a file's SHA-256, a folder's as ``sha256sum`` lists its files."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.errors import InputDataError
from pipeline.engine.inputs import sha256_of


def _folder(tmp_path: Path, parts: int) -> Path:
    folder = tmp_path / "in"
    (folder / "year=2025").mkdir(parents=True)
    for i in range(parts):
        table = pa.table({"age": list(range(i, i + 50)), "sex": ["1", "2"] * 25})
        where = folder / "year=2025" if i % 2 else folder
        pq.write_table(table, where / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").write_bytes(b"")  # skipped, as the reader skips it
    return folder


def test_a_file_digest_is_its_sha256(tmp_path: Path) -> None:
    path = tmp_path / "one.parquet"
    pq.write_table(pa.table({"x": list(range(1000))}), path)
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("parts", [1, 2, 7])
def test_a_folder_digest_is_that_of_its_sha256sum_listing(tmp_path: Path, parts: int) -> None:
    folder = _folder(tmp_path, parts)
    names = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*.parquet"))
    listing = "".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names
    )
    assert sha256_of(folder) == hashlib.sha256(listing.encode()).hexdigest()


def _gnu_sha256sum() -> bool:
    """Whether this machine's sha256sum is GNU coreutils' (BusyBox's escapes no name)."""
    if shutil.which("sha256sum") is None:
        return False
    version = subprocess.run(
        ["sha256sum", "--version"], capture_output=True, text=True, check=False
    )
    return "GNU coreutils" in version.stdout


@pytest.mark.skipif(not _gnu_sha256sum(), reason="no GNU sha256sum on this machine")
def test_sha256sum_over_the_files_sorted_in_byte_order_gives_the_digest(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "x").mkdir(parents=True)
    table = pa.table({"n": [1, 2, 3]})
    # "x/y" sorts before "x-1" as path parts, after it as bytes; escaped names too
    names = ["x/y.parquet", "x-1.parquet", "-dash.parquet", "back\\slash.parquet"]
    for name in [*names, "line\nbreak.parquet", "carriage\rreturn.parquet"]:
        pq.write_table(table.append_column("s", pa.array([name] * 3)), folder / name)
    names = sorted(f.relative_to(folder).as_posix().encode() for f in folder.rglob("*.parquet"))
    listed = subprocess.run(
        ["sha256sum", "--", *[n.decode() for n in names]],
        cwd=folder,
        capture_output=True,
        check=True,
    ).stdout
    assert sha256_of(folder) == hashlib.sha256(listed).hexdigest()


def test_a_folder_digest_changes_with_a_byte_or_a_name(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 3)
    before = sha256_of(folder)
    (folder / "part-00000.parquet").rename(folder / "part-00009.parquet")
    renamed = sha256_of(folder)
    data = bytearray((folder / "part-00002.parquet").read_bytes())
    data[10] ^= 1  # a byte of the first column's data, not its footer
    (folder / "part-00002.parquet").write_bytes(bytes(data))
    assert len({before, renamed, sha256_of(folder)}) == 3


def test_a_folder_without_data_files_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError):
        sha256_of(tmp_path / "empty")


def test_an_input_named_through_a_symlink_is_read_through_it(tmp_path: Path) -> None:
    path = tmp_path / "one.parquet"
    pq.write_table(pa.table({"x": list(range(100))}), path)
    (tmp_path / "link.parquet").symlink_to(path)
    assert sha256_of(tmp_path / "link.parquet") == sha256_of(path)
