"""PostgreSQL as an input (``format: sql``): a table or one query, streamed as Arrow.

The database is read through ADBC's PostgreSQL driver (libpq's binary COPY, straight into Arrow
record batches), in a session that is read only from its first statement
(``default_transaction_read_only``), so a recipe can never write to the database: a query is
also wrapped as ``SELECT <columns> FROM (<query>) AS q``, where a data-changing statement is a
syntax error. Only the columns a run reads are selected (identifier columns never are). Types
come from the database: integers, floats, booleans, dates and text as they are, ``numeric`` as
floats (``numeric:`` is not needed).

Credentials never leave: the URL (from the recipe, or the environment variable ``url_env``
names; a password may also come from ``PGPASSWORD`` or ``~/.pgpass``) is only handed to libpq.
What is printed or recorded is :func:`shown_url` (no user, no password, no parameters) with the
table, or the SHA-256 of the query. Errors are named from what libpq said (host unreachable,
authentication failed, database, table or column missing, permission denied, the query writes
or is not one SELECT) and never quote it: a server's message can hold data values.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.core.errors import InputDataError, Problem
from pipeline.io.urls import shown_url

ROWS_PER_FILE = 1_000_000  # records per spooled Parquet file: the run's partitions
CONNECT_TIMEOUT = 10  # seconds; libpq's connect_timeout unless the URL sets one
_READ_ONLY = "-c default_transaction_read_only=on"

# what libpq or the server said -> (reason code, what the user is told)
_CAUSES = (
    ("password authentication failed", "auth_failed", "authentication failed"),
    ("no password supplied", "auth_failed", "authentication failed (no password given)"),
    ("authentication failed", "auth_failed", "authentication failed"),
    ("pg_hba.conf", "auth_failed", "the server refused this user or host (pg_hba.conf)"),
    ("does not exist", "missing", "not found (database, table or column)"),
    ("permission denied", "permission_denied", "permission denied"),
    ("read-only transaction", "writes", "the query writes: a recipe only reads"),
    ("syntax error", "not_a_select", "the query is not one SELECT statement"),
    ("cannot insert multiple commands", "not_a_select", "the query is more than one statement"),
    ("connection refused", "unreachable", "host unreachable (connection refused)"),
    ("could not translate host name", "unreachable", "host unreachable (unknown host name)"),
    ("timeout expired", "unreachable", "host unreachable (timed out)"),
    ("no route to host", "unreachable", "host unreachable (no route)"),
    ("network is unreachable", "unreachable", "host unreachable (network)"),
)


def quoted(name: str) -> str:
    """``name`` as a PostgreSQL identifier (double quotes, inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SqlSource:
    """A recipe's database input: where (the secret URL), and a table or a query."""

    url: str
    table: str | None
    query: str | None
    order_by: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        url: str | None = None,
        url_env: str | None = None,
        table: str | None = None,
        query: str | None = None,
        order_by: tuple[str, ...] = (),
    ) -> SqlSource:
        """The source of a ``format: sql`` input (the variable ``url_env`` names read now)."""
        if url_env is not None:
            url = os.environ.get(url_env)
            if not url:
                raise InputDataError([Problem(f"input.url_env: {url_env} is not set", "sql_url")])
            if not url.startswith(("postgresql://", "postgres://")):
                raise InputDataError(
                    [Problem(f"input.url_env: {url_env} is no postgresql:// URL", "sql_url")]
                )
        if url is None:
            raise ValueError("a database input needs url or url_env")  # the recipe checks it
        return cls(url, table, query, tuple(order_by))

    @property
    def name(self) -> str:
        """What the manifest and messages say: the URL without secrets, the table or query."""
        if self.table is not None:
            return f"{shown_url(self.url)} table {self.table}"
        assert self.query is not None
        digest = hashlib.sha256(self.query.encode("utf-8")).hexdigest()
        return f"{shown_url(self.url)} query sha256:{digest}"

    def _from(self) -> str:
        if self.table is not None:
            return ".".join(quoted(part) for part in self.table.split("."))
        assert self.query is not None
        return f"({self.query.strip().rstrip(';')}) AS q"

    def columns(self) -> list[str]:
        """The source's column names, in order (no record is read)."""
        with self.transaction() as cursor:
            cursor.execute(f"SELECT * FROM {self._from()} LIMIT 0")  # noqa: S608 - quoted
            return list(cursor.fetch_arrow_table().schema.names)

    def spool(self, columns: list[str], folder: Path) -> int:
        """Stream ``columns`` into Parquet files under ``folder`` (new); return the records.

        Memory holds one record batch and one row group; each file holds ``ROWS_PER_FILE``.
        """
        select = ", ".join(quoted(c) for c in columns)
        folder.mkdir(mode=0o700)
        rows = 0
        with self.transaction() as cursor:
            order = ", ".join(quoted(c) for c in self.order_by)
            order = f" ORDER BY {order}" if order else ""
            cursor.execute(f"SELECT {select} FROM {self._from()}{order}")  # noqa: S608 - quoted
            reader = cursor.fetch_record_batch()
            schema = _plain_schema(reader.schema)
            writer: pq.ParquetWriter | None = None
            in_file = 0
            for batch in reader:
                if writer is None or in_file >= ROWS_PER_FILE:
                    if writer is not None:
                        writer.close()
                    part = folder / f"part-{rows // ROWS_PER_FILE:05d}.parquet"
                    writer, in_file = pq.ParquetWriter(part, schema, compression="lz4"), 0
                writer.write_batch(_plain_batch(batch, schema))
                rows += batch.num_rows
                in_file += batch.num_rows
            if writer is None:  # no record: one empty file holds the columns
                writer = pq.ParquetWriter(folder / "part-00000.parquet", schema)
            writer.close()
        return rows

    def _connect(self, read_only: bool) -> Any:
        import adbc_driver_postgresql.dbapi as pg  # here: a recipe of files never loads it

        try:
            return pg.connect(_with_options(self.url, read_only))
        except Exception as exc:  # noqa: BLE001 - every driver error is named, never quoted
            raise self._problem(exc, "connect to") from None

    @contextlib.contextmanager
    def transaction(self, read_only: bool = True) -> Iterator[Any]:
        """A cursor in one transaction (rolled back unless the caller commits)."""
        connection = self._connect(read_only)
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        except InputDataError:
            raise
        except Exception as exc:  # noqa: BLE001 - every driver error is named, never quoted
            raise self._problem(exc, "read" if read_only else "write") from None
        finally:
            connection.close()

    def _problem(self, exc: BaseException, doing: str) -> InputDataError:
        said = str(exc).lower()
        fallback = ("failed", f"the request failed ({type(exc).__name__})")
        if type(exc).__name__ == "DataError":  # division by zero, a value that does not convert
            fallback = ("data", "a value could not be computed or converted (DataError)")
        code, what = next(((c, w) for needle, c, w in _CAUSES if needle in said), fallback)
        return InputDataError(
            [Problem(f"input {self.name}: could not {doing} the database: {what}", f"sql_{code}")]
        )


def _with_options(url: str, read_only: bool = True) -> str:
    """The URL with a read-only session and a connect timeout (unless it sets one)."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if read_only:
        params["options"] = f"{params.get('options', '')} {_READ_ONLY}".strip()
    params.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    query = urlencode(params, quote_via=quote)  # libpq reads %20 as a space, not +
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _plain_type(field: pa.Field) -> pa.DataType:
    kind = field.type
    if isinstance(kind, pa.BaseExtensionType):  # the driver's opaque types: numeric, uuid, json...
        typname = (field.metadata or {}).get(b"POSTGRESQL:type", b"")
        return pa.float64() if typname == b"numeric" else pa.string()
    if pa.types.is_decimal(kind):
        return pa.float64()
    return kind


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """The columns as the run reads them: no driver metadata, numeric as floats."""
    return pa.schema([pa.field(f.name, _plain_type(f)) for f in schema])


def _plain_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for column, field in zip(batch.columns, schema, strict=True):
        if isinstance(column.type, pa.BaseExtensionType):
            column = column.storage
        arrays.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
