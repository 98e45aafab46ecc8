"""The ingest's checkpoint: held in memory or written to staging, it reads back the same."""

from __future__ import annotations

import decimal
import json
import pickle
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dask.tokenize import normalize_token

from pipeline.engine import read_stage
from pipeline.engine.checkpoint import Checkpoint
from tests.conftest import data_digests, demo_recipe, invoke

ROWS = 6_000


def typed_frame(rows: int = ROWS) -> pd.DataFrame:
    """A frame of the column types an input can bring, with missing values in each."""
    rng = np.random.default_rng(7)
    holes = rng.random(rows) < 0.1
    text = pd.Series(rng.choice(["a", "bb", "ccc", "日本"], rows), dtype="string")
    return pd.DataFrame(
        {
            "i64": rng.integers(-(2**62), 2**62, rows),
            "nullable": pd.array(np.where(holes, None, rng.integers(0, 90, rows)), "Int64"),
            "u64": rng.integers(0, 2**63, rows, dtype=np.uint64) * np.uint64(2),
            "f64": np.where(holes, np.nan, rng.normal(0, 1e300, rows)),
            "nullable_float": pd.array(np.where(holes, None, rng.random(rows)), "Float64"),
            "text": text.mask(holes),
            "flag": rng.random(rows) < 0.5,
            "nullable_flag": pd.array(np.where(holes, None, rng.random(rows) < 0.5), "boolean"),
            "when": pd.Series(
                pd.date_range("1900-01-01", periods=rows, freq="h", tz="Asia/Tokyo")
            ).mask(holes),
            "nothing": pd.Series([None] * rows, dtype=object),  # Arrow's null type: no values
            "token": pd.Series([rng.bytes(12).hex() for _ in range(rows)], dtype="string"),
            "amount": pd.Series(
                [decimal.Decimal(f"{i}.25") for i in range(rows)],
                dtype=pd.ArrowDtype(pa.decimal128(12, 2)),
            ),
        }
    )


def put_in(checkpoint: Checkpoint, frame: pd.DataFrame, parts: int = 3) -> None:
    checkpoint.folder.mkdir(parents=True, exist_ok=True)
    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for number, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        chunk = frame.iloc[part].reset_index(drop=True)
        checkpoint.put(number, pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


def both(tmp_path: Path, frame: pd.DataFrame) -> tuple[Checkpoint, Checkpoint]:
    held, written = Checkpoint(tmp_path / "held", 1 << 30), Checkpoint(tmp_path / "files", 0)
    put_in(held, frame)
    put_in(written, frame)
    assert held.held and not list(held.folder.iterdir())
    assert not written.held and len(list(written.folder.glob("*.parquet"))) == 3
    return held, written


def test_a_held_checkpoint_reads_back_as_the_written_one(tmp_path: Path) -> None:
    held, written = both(tmp_path, typed_frame())
    a, b = held.frame(["nullable"]), written.frame(["nullable"])
    assert a.npartitions == b.npartitions == 3
    assert dict(a.dtypes) == dict(b.dtypes)
    pd.testing.assert_frame_equal(a.compute(), b.compute())
    some = ["text", "when", "amount"]  # a pass that reads a few columns gets only those
    pd.testing.assert_frame_equal(a[some].compute(), b[some].compute())
    assert a[some].optimize().npartitions == 3


def test_the_measures_read_a_held_checkpoint_as_the_written_one(tmp_path: Path) -> None:
    held, written = both(tmp_path, typed_frame())
    a, b = held.dataset(("flag",)), written.dataset(("flag",))
    assert a.format == "memory" and b.format == "parquet"
    assert a.columns == b.columns and "flag" not in a.columns
    assert a.schema.equals(b.schema) and a.rows() == b.rows() == ROWS
    columns = ["u64", "text", "when"]
    assert pa.concat_tables(a.chunks(columns)).equals(pa.concat_tables(b.chunks(columns)))
    assert a.table(columns).equals(b.table(columns))
    pd.testing.assert_frame_equal(a.dask_frame(columns).compute(), b.dask_frame(columns).compute())


def test_a_written_checkpoint_compresses_only_what_lz4_shrinks(tmp_path: Path) -> None:
    """Random tokens and keys are written plain (lz4 costs their writing 3x for 6%); repeated
    text and numbers are compressed. Either way they read back the same (the test above)."""
    written = Checkpoint(tmp_path / "files", 0)
    put_in(written, typed_frame())
    meta = pq.ParquetFile(sorted(written.folder.glob("*.parquet"))[0]).metadata
    codecs = {
        meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i).compression
        for i in range(meta.num_columns)
    }
    assert codecs["token"] == codecs["u64"] == codecs["i64"] == "UNCOMPRESSED"
    assert codecs["text"] == codecs["nullable"] == codecs["when"] == "LZ4"


def test_a_checkpoint_over_its_budget_goes_to_files_whole(tmp_path: Path) -> None:
    frame = typed_frame()
    one = pa.Table.from_pandas(frame.iloc[:2000], preserve_index=False).nbytes
    partly = Checkpoint(tmp_path / "partly", int(one * 1.5))  # the first part fits, not two
    put_in(partly, frame)
    assert not partly.held
    assert [p.name for p in sorted(partly.folder.iterdir())] == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    pd.testing.assert_frame_equal(partly.frame([]).compute().reset_index(drop=True), frame)


@pytest.mark.parametrize("rows", [30, 0])
def test_a_checkpoint_sent_to_a_worker_process_writes_files(tmp_path: Path, rows: int) -> None:
    # an empty partition too: with no budget nothing is held, not even zero bytes
    sent = pickle.loads(pickle.dumps(Checkpoint(tmp_path / "c", 1 << 30)))
    assert sent.folder == tmp_path / "c" and sent.budget == 0
    put_in(sent, typed_frame(rows), parts=1)
    assert not sent.held and (tmp_path / "c" / "part-00000.parquet").is_file()


def test_a_released_checkpoint_lets_its_tables_go_and_refuses_a_read(tmp_path: Path) -> None:
    held, _ = both(tmp_path, typed_frame())
    frame = held.frame([])
    assert len(frame.compute()) == ROWS
    held.release()
    assert held._held == {}
    with pytest.raises(RuntimeError, match="read after it was released"):
        frame.compute()


def test_a_held_checkpoint_is_named_in_graphs_without_hashing_its_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dask names every expression by a hash of its operands, the frame's meta among them: a
    # meta cut from a held table (a slice shares its buffers) had the whole data hashed again
    # for each step (4% of a 2M-record run)
    held, _ = both(tmp_path, typed_frame())
    normalize_token.dispatch(pa.Buffer)  # dask registers its pyarrow hashing on first use
    hashed: list[int] = []
    real = normalize_token.dispatch(pa.Buffer)
    monkeypatch.setitem(
        normalize_token._lookup, pa.Buffer, lambda b: hashed.append(b.size) or real(b)
    )
    frame = held.frame(["nullable"])
    frame = frame.assign(more=frame["i64"] + 1)
    steps = frame.map_partitions(lambda part: part, meta=frame._meta)
    dask.base.tokenize(steps)
    steps.optimize()
    data = held.dataset(())
    dask.base.tokenize(data.dask_frame(["text"]))
    assert max(hashed, default=0) < 4096


def test_an_empty_held_checkpoint_reads_back_empty(tmp_path: Path) -> None:
    empty = typed_frame().iloc[:0]
    held = Checkpoint(tmp_path / "e", 1 << 30)
    put_in(held, empty, parts=1)
    assert held.held
    assert len(held.frame([]).compute()) == 0 and held.dataset(()).rows() == 0
    assert list(held.dataset(()).chunks(["text"])) == []


@pytest.mark.slow
def test_a_run_publishes_the_same_with_its_checkpoint_held_or_written(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = (
        "  - top_code: {column: income, quantile: 0.99}\n"
        "  - local_suppression: {k: 3}\n  - shuffle_records: {}\n"
    )
    recipe = demo_recipe(workdir, steps)
    seen: list[bool] = []
    real = Checkpoint.frame

    def spy(self: Checkpoint, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        seen.append(self.held)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Checkpoint, "frame", spy)
    small: list[bool] = []  # a run held in memory keeps glibc's freed blocks for reuse
    monkeypatch.setattr(read_stage.memory, "small_run", lambda: small.append(True))
    assert invoke("run", str(recipe), "-q", "--output", "out/held").exit_code == 0
    assert small == [True]
    monkeypatch.setattr(read_stage, "HELD_BYTES", 0)
    result = invoke("run", str(recipe), "-q", "--output", "out/files")
    assert result.exit_code == 0, result.output
    assert seen == [True, False] and small == [True]
    assert data_digests(workdir / "out" / "held") == data_digests(workdir / "out" / "files")
    held, files = (
        json.loads((workdir / "out" / name / "manifest.json").read_text())
        for name in ("held", "files")
    )
    for key in ("risk_before", "risk_after", "utility", "rows_in", "rows_out"):
        assert held[key] == files[key]
