"""A published release loaded into a PostgreSQL table too (``output.database``).

Fail-closed, like a folder: the records are loaded into a staging table, checked against the
files the gate judged (the record count and the columns), and in the same transaction the old
table (if any) is dropped and the staging table renamed into place, so readers see the old
table until the commit and the new one after; any failure rolls everything back. The table
carries the comment ``anonymize-pipeline release <run id>``: a table without it was not created
by this tool and is never replaced (checked before the run starts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from pipeline.core.artifact import TOOL
from pipeline.core.errors import InputDataError, Problem, RecipeError
from pipeline.io.sql import SqlSource, quoted
from pipeline.io.urls import shown_url

MARK = f"{TOOL} release"


def _parts(table: str) -> tuple[str | None, str]:
    schema, _, name = table.rpartition(".")
    return (schema or None), name


def _name(schema: str | None, name: str) -> str:
    return f"{quoted(schema)}.{quoted(name)}" if schema else quoted(name)


class SqlTarget:
    """The table ``table`` of the database at ``source.url`` (a ``SqlSource`` for its URL)."""

    def __init__(self, source: SqlSource, table: str) -> None:
        self.source, self.table = source, table
        self.schema, self.name = _parts(table)

    @property
    def shown(self) -> str:
        """The target as messages name it (no secrets)."""
        return f"{shown_url(self.source.url)} table {self.table}"

    def _comment(self, cursor: Any) -> str | None | bool:
        """The table's comment; False when the table does not exist."""
        cursor.execute(
            "SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = $1 AND n.nspname = COALESCE($2, current_schema())",
            parameters=(self.name, self.schema),
        )
        row = cursor.fetchone()
        return False if row is None else row[0]

    def check(self) -> None:
        """Before a run: the table is absent or was created by this tool."""
        with self.source.transaction(read_only=True) as cursor:
            comment = self._comment(cursor)
        if comment is not False and not (isinstance(comment, str) and comment.startswith(MARK)):
            raise RecipeError(
                [
                    Problem(
                        f"output.database: {self.shown} exists and was not created by this "
                        "tool: refusing to replace it",
                        code="not_ours",
                    )
                ],
                title="usage error",
            )

    def load(self, folder: Path, rows: int, columns: list[str], run_id: str) -> None:
        """Stage the Parquet files of ``folder``, check them, and swap the table in (one commit)."""
        staging = _name(self.schema, f"{self.name}__anon_{run_id[:12]}")
        target = _name(self.schema, self.name)
        reader = ds.dataset(folder, format="parquet").scanner(batch_size=65_536).to_reader()
        with self.source.transaction(read_only=False) as cursor:
            cursor.adbc_ingest(
                f"{self.name}__anon_{run_id[:12]}",
                reader,
                mode="create",
                db_schema_name=self.schema,
            )
            cursor.execute(f"SELECT count(*) FROM {staging}")  # noqa: S608 - quoted names
            staged = cursor.fetchone()[0]
            cursor.execute(f"SELECT * FROM {staging} LIMIT 0")  # noqa: S608 - quoted names
            names = list(cursor.fetch_arrow_table().schema.names)
            if staged != rows or names != columns:
                raise InputDataError(
                    [
                        Problem(
                            f"output.database: {self.shown}: the staged table is not the "
                            "release the gate judged (records or columns differ)",
                            "sql_staged",
                        )
                    ]
                )
            comment = self._comment(cursor)
            if comment is not False:  # ours: checked before the run and again here
                if not (isinstance(comment, str) and comment.startswith(MARK)):
                    raise RecipeError(
                        [Problem(f"output.database: {self.shown} is not ours", "not_ours")]
                    )
                cursor.execute(f"DROP TABLE {target}")
            cursor.execute(f"ALTER TABLE {staging} RENAME TO {quoted(self.name)}")
            cursor.execute(f"COMMENT ON TABLE {target} IS '{MARK} {run_id}'")
            cursor.connection.commit()
