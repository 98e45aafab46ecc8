"""OpenLineage run events for lineage tools (Marquez, DataHub, OpenMetadata...): no values.

``--lineage TARGET`` sends a run's events: START when the run begins (the recipe as the job,
the input file and the output folder as datasets, with their column names), then COMPLETE
when it published (the output's row count) or FAIL when it stopped (the exit code and the
error's text, which never holds a data value). TARGET is either

* an ``http://`` or ``https://`` URL: each event is POSTed as JSON (OpenLineage's HTTP
  transport, e.g. ``http://marquez:5000/api/v1/lineage``); a user and password in the URL
  become a basic ``Authorization`` header and are never printed; an event that cannot be
  delivered (5 s timeout) is a warning on the log, never a failure of the run; or
* a folder that exists: each event is a new file ``<runId>.<n>.<EVENT>.json`` in it (never
  an existing file replaced).

The events follow the OpenLineage 2-0-2 ``RunEvent`` (``schemaURL`` below): ``run.runId`` is the
run's id as a UUID, ``job.namespace`` is ``anonymize``, dataset namespaces are ``file``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.core.errors import Problem, RecipeError
from pipeline.io.urls import shown_url

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
FACET_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json"
PRODUCER = "https://pypi.org/project/anonymize-pipeline/"
NAMESPACE = "anonymize"
TIMEOUT = 5.0


def check_target(target: str) -> None:
    """Refuse a target that cannot take events before anything runs (usage error, exit 2)."""
    parts = urlsplit(target)
    if parts.scheme in ("http", "https"):
        try:
            parts.port  # noqa: B018 - raises on a port that is no number or out of range
        except ValueError:
            raise _usage("--lineage: the URL's port is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise _usage("--lineage: the URL names no host")
        return
    if parts.scheme and len(parts.scheme) > 1:  # c:\\ is a Windows drive, not a scheme
        raise _usage(f"--lineage: {parts.scheme}:// is not supported (http, https or a folder)")
    path = Path(target)
    if path.is_symlink() or not path.is_dir():
        raise _usage("--lineage: expected an http(s) URL or an existing folder (not a link)")


def _usage(text: str) -> RecipeError:
    return RecipeError([Problem(text, code="usage")], title="usage error")


class Lineage:
    """A run's OpenLineage events, sent to ``target``; ``warn`` reports what was not sent."""

    def __init__(self, target: str, warn: Callable[[str], None]) -> None:
        self.target, self.warn = target, warn
        self._run: dict[str, Any] | None = None
        self._sent = 0

    def start(self, run_id: str, job: str, inputs: list[dict], outputs: list[dict]) -> None:
        """The run began: its job (the recipe's name) and datasets (path and columns)."""
        self._run = {
            "run": {"runId": str(uuid.UUID(hex=run_id))},
            "job": {"namespace": NAMESPACE, "name": job},
            "inputs": [_dataset(d) for d in inputs],
            "outputs": [_dataset(d) for d in outputs],
        }
        self._send("START")

    def complete(self, rows: int | None, columns: list[str] | None) -> None:
        """The run published: the output's row count and columns."""
        if self._run is None:
            return
        for output in self._run["outputs"]:
            if rows is not None:
                output["outputFacets"] = {"outputStatistics": _facet("1-0-2", rowCount=rows)}
            if columns is not None:
                output["facets"] = {"schema": _schema(columns)}
        self._send("COMPLETE")

    def fail(self, message: str, exit_code: int) -> None:
        """The run stopped with ``exit_code``; ``message`` is the tool's (never a data value)."""
        if self._run is None:
            return  # nothing started: the recipe or the options were refused
        self._run["run"]["facets"] = {
            "errorMessage": _facet(
                "1-0-1",
                message=f"exit {exit_code}: {message}",
                programmingLanguage="python",
            )
        }
        self._send("FAIL")

    def _send(self, event_type: str) -> None:
        assert self._run is not None
        event = {
            "eventType": event_type,
            "eventTime": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            **self._run,
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
        }
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        self._sent += 1
        try:
            if urlsplit(self.target).scheme in ("http", "https"):
                _post(self.target, body)
            else:
                name = f"{self._run['run']['runId']}.{self._sent}.{event_type}.json"
                _write_new(Path(self.target) / name, body)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # URLError is an OSError
            self.warn(
                f"warning: lineage event {event_type} not delivered to {shown_url(self.target)} "
                f"({type(exc).__name__}{_status(exc)})"
            )


def _dataset(found: dict) -> dict:
    path = str(found["path"])
    if "://" in path:  # a database: postgresql://host:port/db table t (no secrets)
        parts = urlsplit(path.split(" ", 1)[0])
        name = f"{parts.path.lstrip('/')}{path[len(path.split(' ', 1)[0]) :]}"
        out: dict[str, Any] = {"namespace": f"{parts.scheme}://{parts.netloc}", "name": name}
    else:
        out = {"namespace": "file", "name": str(Path(path).absolute())}
    if found.get("columns"):
        out["facets"] = {"schema": _schema(found["columns"])}
    return out


def _schema(columns: list[str]) -> dict:
    return {
        "_producer": PRODUCER,
        "_schemaURL": FACET_URL,
        "fields": [{"name": c} for c in columns],
    }


def _facet(version: str, **fields: Any) -> dict:
    name = "OutputStatisticsOutputDatasetFacet" if "rowCount" in fields else "ErrorMessageRunFacet"
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"https://openlineage.io/spec/facets/{version}/{name}.json",
        **fields,
    }


def _status(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return f" {code}" if isinstance(code, int) else ""


def _post(url: str, body: bytes) -> None:
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    if parts.username is not None:
        secret = f"{parts.username}:{parts.password or ''}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
    request = urllib.request.Request(
        shown_url(url, query=True), data=body, headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 - http(s) only
        answer.read()


def _write_new(path: Path, body: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(body)
