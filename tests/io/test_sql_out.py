"""A release loaded into a PostgreSQL table too (``output.database``), against a real server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq

from tests.conftest import demo_recipe, run_entry
from tests.io.test_sql import admin, execute, with_password

STEPS = "  - top_code: {column: age, above: 90}\n"


def recipe(workdir: Path, table: str, extra: str = "", env: str = "TEST_PG") -> Path:
    path = demo_recipe(workdir, STEPS, extra=extra)
    text = path.read_text(encoding="utf-8").replace(
        "format: parquet}", f"format: parquet, database: {{url_env: {env}, table: {table}}}}}", 1
    )
    path.write_text(text, encoding="utf-8")
    return path


def rows_and_comment(url: str, table: str) -> tuple[list[dict], str | None]:
    with admin(url) as con, con.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - the test's own name
        rows = cur.fetch_arrow_table().to_pylist()
        cur.execute(f"SELECT obj_description('{table}'::regclass, 'pg_class')")
        return rows, cur.fetchone()[0]


def test_a_release_is_loaded_into_a_table_and_replaced_by_the_next(
    workdir: Path, capfd, pg_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    table = f"release_{uuid.uuid4().hex[:8]}"
    path = recipe(workdir, table)
    code, output = run_entry(["run", str(path)], capfd)
    assert code == 0, output
    assert f"table {table}" in output and urlsplit_password(pg_url) not in output
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    rows, comment = rows_and_comment(pg_url, table)
    assert rows == pq.read_table(workdir / "out" / "run" / "data").to_pylist()
    assert comment == f"anonymize-pipeline release {manifest['run_id']}"
    assert run_entry(["run", str(path), "-q"], capfd)[0] == 0  # the next release replaces it
    again = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    assert rows_and_comment(pg_url, table)[1].endswith(again["run_id"])


def urlsplit_password(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or "<none>"


def test_a_table_this_tool_did_not_create_is_never_replaced(
    workdir: Path, capfd, pg_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    table = f"theirs_{uuid.uuid4().hex[:8]}"
    execute(pg_url, f"CREATE TABLE {table} (x int)", f"INSERT INTO {table} VALUES (7)")
    code, output = run_entry(["run", str(recipe(workdir, table)), "-q"], capfd)
    assert code == 2 and "was not created by this tool" in output
    assert rows_and_comment(pg_url, table) == ([{"x": 7}], None)
    assert not (workdir / "out" / "run").exists()  # checked before anything ran


def test_a_blocked_run_or_a_failed_load_changes_no_table_and_publishes_nothing(
    workdir: Path, capfd, pg_url: str, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_PG", pg_url)
    table = f"kept_{uuid.uuid4().hex[:8]}"
    assert run_entry(["run", str(recipe(workdir, table)), "-q"], capfd)[0] == 0
    before = rows_and_comment(pg_url, table)
    blocked = recipe(workdir, table, extra="risk: {k: 1000}\n")
    assert run_entry(["run", str(blocked), "-q"], capfd)[0] == 4
    assert rows_and_comment(pg_url, table) == before
    # a user that may read the table but not create one: the load fails, all is rolled back
    user, password = f"ro_{uuid.uuid4().hex[:6]}", "pw-QX7-readonly"
    execute(
        pg_url,
        f"CREATE ROLE {user} LOGIN PASSWORD '{password}'",
        f"GRANT SELECT ON {table} TO {user}",
        f"REVOKE CREATE ON SCHEMA public FROM {user}",
    )
    monkeypatch.setenv("TEST_PG_RO", with_password(pg_url, user, password))
    published = (workdir / "out" / "run" / "manifest.json").read_bytes()
    code, output = run_entry(["run", str(recipe(workdir, table, env="TEST_PG_RO")), "-q"], capfd)
    assert code == 3 and "permission denied" in output and password not in output, output
    assert rows_and_comment(pg_url, table) == before
    assert (workdir / "out" / "run" / "manifest.json").read_bytes() == published
    with admin(pg_url) as con, con.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM pg_tables WHERE tablename LIKE '{table}__anon_%'")
        assert cur.fetchone() == (0,)  # no staging table left behind
