"""The input's digest: a file's SHA-256, a folder's as ``sha256sum`` lists its files."""

from __future__ import annotations

import hashlib
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
    files = sorted(folder.rglob("*.parquet"), key=lambda f: f.relative_to(folder).as_posix())
    listing = "".join(
        f"{hashlib.sha256(f.read_bytes()).hexdigest()}  {f.relative_to(folder).as_posix()}\n"
        for f in files
    )
    assert sha256_of(folder) == hashlib.sha256(listing.encode()).hexdigest()


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
