"""PostgreSQL as an input (``format: sql``), against a real server (see ``pg_url``)."""

from __future__ import annotations

import itertools
import json
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import DEMO_COLUMNS, run_entry, write_recipe

# no step keyed by the release (subsample, shuffle, surrogate tokens): the same records give
# the same published values whatever container they came in
STEPS = """\
  - top_code: {column: age, above: 90}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
  - local_suppression: {k: 2}
"""
COLUMNS = DEMO_COLUMNS.replace("household_id: surrogate", "household_id: drop")


def admin(url: str):  # noqa: ANN201 - an ADBC connection
    import adbc_driver_postgresql.dbapi as pg

    return pg.connect(url, autocommit=True)


def execute(url: str, *statements: str) -> None:
    with admin(url) as con, con.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def with_password(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def reader(url: str, table: str) -> tuple[str, str]:
    """A new role that may read ``table``: its URL (with the password) and the password."""
    password = f"Pw-{uuid.uuid4().hex[:10]}"
    user = f"reader_{uuid.uuid4().hex[:6]}"
    execute(
        url,
        f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
        f"GRANT SELECT ON {table} TO {user}",
    )
    return with_password(url, user, password), password


@pytest.fixture
def census_table(pg_url: str, census_frame) -> str:
    """The test census in a table of its own (typed: integers, a float weight, text codes)."""
    name = f"census_{uuid.uuid4().hex[:8]}"
    table = pa.Table.from_pandas(census_frame, preserve_index=False)
    table = table.cast(pa.schema([pa.field(f.name, _db_type(f.type)) for f in table.schema]))
    with admin(pg_url) as con, con.cursor() as cur:
        cur.adbc_ingest(name, table, mode="create")
    return name


def _db_type(kind: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_large_string(kind) or pa.types.is_string(kind) else kind


def recipe(workdir: Path, source: str, output: str, steps: str = STEPS) -> Path:
    body = (
        f"version: 1\nname: test\ninput: {source}\noutput: {{dir: {output}, format: parquet}}\n"
        f"seed: 42\n{COLUMNS}steps:\n{steps}"
    )
    return write_recipe(workdir, body, f"{output.replace('/', '_')}.yaml")


def published(folder: Path) -> pa.Table:
    return pq.read_table(folder / "data")


def test_a_table_publishes_the_same_data_as_its_csv_export(
    workdir: Path, capfd, pg_url: str, census_table: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    numbers = "numeric: [household_size, income]"  # the database types them itself
    from_csv = recipe(workdir, f"{{path: data/census.csv, {numbers}}}", "out/csv")
    from_db = recipe(workdir, f"{{format: sql, url_env: TEST_PG, table: {census_table}}}", "out/db")
    assert run_entry(["run", str(from_csv), "-q"], capfd)[0] == 0
    code, output = run_entry(["run", str(from_db), "-q"], capfd)
    assert code == 0, output
    csv_data, db_data = published(workdir / "out" / "csv"), published(workdir / "out" / "db")
    assert db_data.num_rows == csv_data.num_rows == 2000
    assert db_data.to_pylist() == csv_data.to_pylist()  # rows, order and values
    manifest = json.loads((workdir / "out" / "db" / "manifest.json").read_text())
    host = urlsplit(pg_url)
    assert manifest["input"]["path"] == (
        f"postgresql://{host.hostname}:{host.port}{host.path} table {census_table}"
    )
    assert not list(Path(tempfile.gettempdir()).glob("anonymize-sql-*"))  # the spool is gone


KEYED = """\
  - top_code: {column: age, above: 90}
  - recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
  - subsample: {fraction: 0.8, by: household_id}
  - local_suppression: {k: 2}
  - shuffle_records: {}
"""


def test_a_release_keyed_by_its_records_is_the_same_from_the_table_and_its_export(
    workdir: Path, capfd, pg_url: str, census_table: str, monkeypatch
) -> None:
    # surrogate household tokens, a subsample by household and a shuffle: every draw comes
    # from the release's identity, here the records (the default for a database)
    monkeypatch.setenv("TEST_PG", pg_url)
    numbers = "numeric: [household_size, income]"
    columns = DEMO_COLUMNS  # household_id: surrogate
    sources = {
        "db": f"{{format: sql, url_env: TEST_PG, table: {census_table}}}",
        "csv": f"{{path: data/census.csv, {numbers}, identity: records}}",
        "bytes": f"{{path: data/census.csv, {numbers}}}",
    }
    for name, source in sources.items():
        body = (
            f"version: 1\nname: test\ninput: {source}\n"
            f"output: {{dir: out/{name}, format: parquet}}\nseed: 42\n{columns}steps:\n{KEYED}"
        )
        code, output = run_entry(
            ["run", str(write_recipe(workdir, body, f"{name}.yaml")), "-q"], capfd
        )
        assert code == 0, output
    db, csv, by_bytes = (published(workdir / "out" / n) for n in sources)
    assert 1000 < db.num_rows < 2000 and "household_id" in db.column_names
    assert db.to_pylist() == csv.to_pylist()  # rows, order, tokens and values
    assert by_bytes.to_pylist() != csv.to_pylist()  # the file's bytes: another release
    manifests = {
        n: json.loads((workdir / "out" / n / "manifest.json").read_text()) for n in sources
    }
    assert manifests["db"]["input"]["records_sha256"] == manifests["csv"]["input"]["records_sha256"]
    assert manifests["bytes"]["input"]["records_sha256"] is None


def test_a_query_with_a_password_in_the_url_never_shows_it(
    workdir: Path, capfd, pg_url: str, census_table: str
) -> None:
    url, password = reader(pg_url, census_table)
    query = f"SELECT * FROM {census_table} WHERE age >= 20"
    source = json.dumps({"format": "sql", "url": url, "query": query})
    path = recipe(workdir, source, "out/query")
    (workdir / "lineage").mkdir()
    argv = ["run", str(path), "--log-format", "json", "--lineage", "lineage"]
    code, output = run_entry(argv, capfd)
    assert code == 0, output
    manifest = json.loads((workdir / "out" / "query" / "manifest.json").read_text())
    assert " query sha256:" in manifest["input"]["path"] and query not in json.dumps(manifest)
    assert manifest["rows_in"] == 2000 - sum(1 for a in _ages(workdir) if a < 20)
    written = [p for p in (workdir / "out").rglob("*") if p.is_file()]  # the run's files
    written += list((workdir / "lineage").iterdir())
    assert password not in output
    assert not [p for p in written if password in p.read_text(encoding="utf-8", errors="ignore")]
    start = json.loads(next((workdir / "lineage").glob("*.START.json")).read_text())
    assert start["inputs"][0]["namespace"].startswith("postgresql://")


def _ages(workdir: Path) -> list[int]:
    import pandas as pd

    return pd.read_csv(workdir / "data" / "census.csv")["age"].tolist()


def test_numbers_come_typed_from_the_database_and_codes_keep_their_zeros(
    workdir: Path, capfd, pg_url: str
) -> None:
    name = f"typed_{uuid.uuid4().hex[:8]}"
    execute(
        pg_url,
        f"CREATE TABLE {name} (code text, amount numeric(12, 2), n smallint, ok boolean)",
        f"INSERT INTO {name} VALUES ('00123', 1234.50, 7, true), ('04567', NULL, 8, false)",
    )
    from pipeline.io.sql import SqlSource

    source = SqlSource.of(url=pg_url, table=name)
    assert source.columns() == ["code", "amount", "n", "ok"]
    folder = workdir / "spool"
    assert source.spool(["code", "amount", "n"], folder) == 2
    table = pq.read_table(folder)
    assert table.schema.field("amount").type == pa.float64()
    assert table.to_pylist() == [
        {"code": "00123", "amount": 1234.5, "n": 7},
        {"code": "04567", "amount": None, "n": 8},
    ]


def test_order_by_sets_the_records_order_and_is_checked(
    workdir: Path, capfd, pg_url: str, census_table: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    shuffled = f"shuffled_{census_table}"
    execute(pg_url, f"CREATE TABLE {shuffled} AS SELECT * FROM {census_table} ORDER BY random()")
    source = f"{{format: sql, url_env: TEST_PG, table: {shuffled}, order_by: [member_id]}}"
    code, output = run_entry(["run", str(recipe(workdir, source, "out/ordered")), "-q"], capfd)
    assert code == 0, output
    ordered = recipe(
        workdir,
        f"{{format: sql, url_env: TEST_PG, table: {census_table}, order_by: [member_id]}}",
        "out/ordered2",
    )
    assert run_entry(["run", str(ordered), "-q"], capfd)[0] == 0
    one, two = published(workdir / "out" / "ordered"), published(workdir / "out" / "ordered2")
    assert one.to_pylist() == two.to_pylist()  # the stored order no longer matters
    bad = f"{{format: sql, url_env: TEST_PG, table: {census_table}, order_by: [nope]}}"
    code, output = run_entry(["run", str(recipe(workdir, bad, "out/bad")), "-q"], capfd)
    assert code == 3 and "input.order_by[0]: column 'nope' is not in the input" in output


def test_the_input_settings_hold_for_a_database_input(
    workdir: Path, capfd, pg_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    name = f"inf_{uuid.uuid4().hex[:8]}"
    execute(
        pg_url,
        f"CREATE TABLE {name} AS SELECT age, sex, municipality, occupation, household_size, "
        "income::float8 AS income, weight FROM (SELECT 1) AS one, LATERAL (VALUES "
        "(30, '1', '13101', 'A01', 2, 'Infinity'::float8, 1.0), "
        "(31, '2', '13101', 'A01', 2, 5.0, 1.0)) AS v(age, sex, municipality, occupation, "
        "household_size, income, weight)",
    )
    columns = (
        "columns:\n  key_variables: [age, sex, municipality, occupation, household_size]\n"
        "  sensitive: [income]\n  weight: weight\n"
    )
    body = (
        "version: 1\nname: test\noutput: {dir: out/inf, format: parquet}\nseed: 1\n"
        f"{columns}steps:\n  - top_code: {{column: income, above: 4}}\n"
    )
    refused = write_recipe(
        workdir, f"input: {{format: sql, url_env: TEST_PG, table: {name}}}\n" + body, "a.yaml"
    )
    code, output = run_entry(["run", str(refused), "-q"], capfd)
    assert code == 3 and "finite" in output, output
    allowed = write_recipe(
        workdir,
        f"input: {{format: sql, url_env: TEST_PG, table: {name}, non_finite: missing}}\n" + body,
        "b.yaml",
    )
    code, output = run_entry(["run", str(allowed), "-q"], capfd)
    assert code == 0, output  # non_finite: missing holds for the records read from the table


def _failing_cases(pg_url: str, table: str) -> list[tuple[str, dict, str]]:
    parts = urlsplit(pg_url)
    wrong = with_password(pg_url, parts.username or "", "not-the-password-QX7")
    closed = urlunsplit((parts.scheme, f"{parts.username}@127.0.0.1:1", parts.path, "", ""))
    no_db = urlunsplit(parts._replace(path="/no_such_db_qx7"))
    return [
        ("authentication failed", {"url": wrong, "table": table}, "sql_auth_failed"),
        ("host unreachable", {"url": closed, "table": table}, "sql_unreachable"),
        ("not found", {"url": no_db, "table": table}, "sql_missing"),
        ("not found", {"url": pg_url, "table": "no_such_table_qx7"}, "sql_missing"),
        (
            "the query writes",
            {"url": pg_url, "query": f"SELECT *, nextval('qx7_seq') AS n FROM {table}"},
            "sql_writes",
        ),
        (
            "not one SELECT",
            {"url": pg_url, "query": f"INSERT INTO {table} (age) VALUES (1) RETURNING *"},
            "sql_not_a_select",
        ),
        (
            "not one SELECT",
            {"url": pg_url, "query": "SELECT 1; DROP TABLE qx7"},
            "sql_not_a_select",
        ),
        ("could not be computed", {"url": pg_url, "query": "SELECT 1/0 AS x"}, "sql_data"),
    ]


def test_every_database_failure_is_named_with_exit_3_and_no_secret(
    workdir: Path, capfd, pg_url: str, census_table: str
) -> None:
    execute(pg_url, "CREATE SEQUENCE IF NOT EXISTS qx7_seq")
    secret = urlsplit(pg_url).password or ""
    cases = _failing_cases(pg_url, census_table)
    for (says, source, code), logs in itertools.product(cases, ("text", "json")):
        path = recipe(workdir, json.dumps({"format": "sql", **source}), "out/fail")
        got, output = run_entry(["run", str(path), "--log-format", logs], capfd)
        assert got == 3, (says, output)
        assert says in output and code in output, output
        assert secret not in output and "not-the-password" not in output
        assert "Traceback" not in output and "ERROR:" not in output  # no server text
    with admin(pg_url) as con, con.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {census_table}")
        assert cur.fetchone() == (2000,)  # nothing was written
        cur.execute("SELECT last_value, is_called FROM qx7_seq")
        assert cur.fetchone()[1] is False  # nextval never ran


def test_permission_denied_and_a_missing_url_variable(
    workdir: Path, capfd, pg_url: str, census_table: str, monkeypatch
) -> None:
    user, password = f"nobody_{uuid.uuid4().hex[:6]}", "pw-QX7-nobody"
    execute(pg_url, f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
    source = {"format": "sql", "url": with_password(pg_url, user, password), "table": census_table}
    got, output = run_entry(["run", str(recipe(workdir, json.dumps(source), "out/p")), "-q"], capfd)
    assert got == 3 and "permission denied" in output and password not in output
    monkeypatch.delenv("TEST_PG_UNSET", raising=False)
    source = {"format": "sql", "url_env": "TEST_PG_UNSET", "table": census_table}
    got, output = run_entry(["run", str(recipe(workdir, json.dumps(source), "out/p")), "-q"], capfd)
    assert got == 3 and "TEST_PG_UNSET is not set" in output


def test_validate_reads_the_columns_from_the_database(
    workdir: Path, capfd, pg_url: str, census_table: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    good = recipe(workdir, f"{{format: sql, url_env: TEST_PG, table: {census_table}}}", "out/v")
    code, output = run_entry(["validate", str(good)], capfd)
    assert code == 0 and "valid" in output, output
    execute(pg_url, f"CREATE TABLE narrow_{census_table} AS SELECT age, sex FROM {census_table}")
    narrow = recipe(
        workdir, f"{{format: sql, url_env: TEST_PG, table: narrow_{census_table}}}", "o"
    )
    code, output = run_entry(["validate", str(narrow)], capfd)
    assert code == 3 and "municipality" in output


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{format: sql, table: t}", "exactly one of url and url_env"),
        ("{format: sql, url: 'postgresql://h/db'}", "exactly one of table and query"),
        ("{format: sql, url: 'postgresql://h/db', table: t, path: x.csv}", "no path"),
        ("{path: x.csv, table: t}", "only with format: sql"),
        ("{path: x.csv, order_by: [a]}", "order_by: only with format: sql"),
        ("{format: sql, url: 'mysql://h/db', table: t}", "postgres"),
        ("{format: sql, url: 'postgresql://h/db', table: 't; drop'}", "pattern"),
    ],
)
def test_a_database_input_is_checked_before_anything_runs(
    workdir: Path, capfd, source: str, says: str
) -> None:
    code, output = run_entry(
        ["validate", str(recipe(workdir, source, "out/r")), "--no-input"], capfd
    )
    assert code == 2 and says in output, output


TABLES = """\
version: 1
kind: tabulation
name: from_db
input: {source}
output: {{dir: {output}}}
rules: {{threshold: 10, min_interval_units: 10}}
tables:
  - name: people_by_prefecture_and_sex
    rows: {{column: municipality, recode: {{hierarchy: jp_region, level: prefecture}}}}
    columns: {{column: sex}}
  - name: people_by_region_sex_and_age
    rows: {{column: municipality, recode: {{hierarchy: jp_region, level: region}}}}
    columns: {{column: sex}}
    layers: {{column: age, recode: {{bands: [0, 15, 65, 75]}}}}
  - name: mean_income_by_occupation
    rows: {{column: occupation, recode: {{hierarchy: hierarchies/occupation.csv, level: 1}}}}
    statistic: mean
    variable: income
    weight: weight
"""


def test_a_tabulation_from_a_table_publishes_the_tables_of_its_csv_export(
    workdir: Path, capfd, pg_url: str, census_table: str
) -> None:
    url, password = reader(pg_url, census_table)
    sources = {
        "csv": "{path: data/census.csv}",
        "db": json.dumps({"format": "sql", "url": url, "table": census_table}),
    }
    for name, source in sources.items():
        body = TABLES.format(source=source, output=f"out/{name}")
        path = write_recipe(workdir, body, f"tables_{name}.yaml")
        code, output = run_entry(["tabulate", str(path)], capfd)
        assert code == 0, output
        assert password not in output
    out = workdir / "out"
    names = sorted(p.name for p in (out / "csv" / "tables").glob("*.csv"))
    assert len(names) == 3
    for table in names:
        assert (out / "db" / "tables" / table).read_bytes() == (
            out / "csv" / "tables" / table
        ).read_bytes()
    manifest = json.loads((out / "db" / "manifest.json").read_text())
    assert (
        manifest["input"]["path"].startswith("postgresql://")
        and census_table in manifest["input"]["path"]
    )
    written = [p for p in (out / "db").rglob("*") if p.is_file()]
    assert not [p for p in written if password in p.read_text(encoding="utf-8", errors="ignore")]
