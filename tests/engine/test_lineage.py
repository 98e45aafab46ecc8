"""OpenLineage run events (``--lineage``): START, then COMPLETE or FAIL, to a folder or a URL."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipeline.engine.lineage import SCHEMA_URL, Lineage
from pipeline.io.urls import shown_url as shown
from tests.conftest import demo_recipe, run_entry

STEPS = "  - top_code: {column: age, above: 90}\n"
BLOCKED = "risk: {k: 1000}\n"  # the gate blocks: no class of 1,000 records


class Collector(BaseHTTPRequestHandler):
    """Keeps every POSTed body and its Authorization header; answers ``status``."""

    received: list[tuple[dict, str | None]] = []
    status = 201

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((json.loads(body), self.headers.get("Authorization")))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def server():
    Collector.received, Collector.status = [], 201
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def events_in(folder: Path) -> list[dict]:
    files = sorted(folder.glob("*.json"), key=lambda p: int(p.name.split(".")[1]))
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]


def check_event(event: dict, run_id: str, kind: str) -> None:
    assert event["eventType"] == kind and event["schemaURL"] == SCHEMA_URL
    assert event["run"]["runId"] == str(uuid.UUID(hex=run_id))
    assert event["job"] == {"namespace": "anonymize", "name": "test"}
    assert event["eventTime"].endswith("Z") and event["producer"].startswith("https://")
    (source,) = event["inputs"]
    assert source["namespace"] == "file" and source["name"].endswith("census.csv")
    fields = [f["name"] for f in source["facets"]["schema"]["fields"]]
    assert "age" in fields and "name" not in fields  # identifiers are never read


def test_a_published_run_sends_start_then_complete_to_a_folder(workdir: Path, capfd) -> None:
    (workdir / "lineage").mkdir()
    recipe = demo_recipe(workdir, STEPS)
    code, _ = run_entry(["run", str(recipe), "-q", "--lineage", "lineage"], capfd)
    assert code == 0
    manifest = json.loads((workdir / "out" / "run" / "manifest.json").read_text())
    start, complete = events_in(workdir / "lineage")
    check_event(start, manifest["run_id"], "START")
    check_event(complete, manifest["run_id"], "COMPLETE")
    (output,) = complete["outputs"]
    assert output["name"] == str((workdir / "out" / "run").absolute())
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == manifest["rows_out"]
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == manifest["columns_out"]


def test_a_blocked_run_sends_fail_with_its_exit_code(workdir: Path, capfd) -> None:
    (workdir / "lineage").mkdir()
    recipe = demo_recipe(workdir, STEPS, extra=BLOCKED)
    code, _ = run_entry(["run", str(recipe), "-q", "--lineage", "lineage"], capfd)
    assert code == 4
    report = json.loads((workdir / "out" / "run.gate_report.json").read_text())
    start, fail = events_in(workdir / "lineage")
    check_event(start, report["run_id"], "START")
    check_event(fail, report["run_id"], "FAIL")
    assert fail["run"]["facets"]["errorMessage"]["message"].startswith("exit 4: ")


def test_events_are_posted_with_the_urls_user_and_never_show_its_password(
    workdir: Path, capfd, server
) -> None:
    recipe = demo_recipe(workdir, STEPS)
    port = server.server_address[1]
    url = f"http://lineage-user:s3cr3t-PW@127.0.0.1:{port}/api/v1/lineage"
    code, output = run_entry(["run", str(recipe), "--lineage", url], capfd)
    assert code == 0, output
    kinds = [event["eventType"] for event, _ in Collector.received]
    assert kinds == ["START", "COMPLETE"]
    expected = "Basic " + base64.b64encode(b"lineage-user:s3cr3t-PW").decode()
    assert {auth for _, auth in Collector.received} == {expected}
    assert "s3cr3t-PW" not in output
    assert all("s3cr3t" not in json.dumps(event) for event, _ in Collector.received)


def test_an_event_not_delivered_is_a_warning_and_the_run_publishes(
    workdir: Path, capfd, server
) -> None:
    Collector.status = 500
    recipe = demo_recipe(workdir, STEPS)
    url = f"http://u:pw-XYZ@127.0.0.1:{server.server_address[1]}/lineage"
    code, output = run_entry(["run", str(recipe), "--log-format", "json", "--lineage", url], capfd)
    assert code == 0
    warnings = [json.loads(line) for line in output.splitlines() if '"warning"' in line]
    undelivered = [w for w in warnings if "lineage event" in w["message"]]
    assert [w["message"].split()[3] for w in undelivered] == ["START", "COMPLETE"]
    assert all("HTTPError 500" in w["message"] for w in undelivered)
    assert "pw-XYZ" not in output


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("missing-folder", "an existing folder"),
        ("ftp://host/x", "ftp:// is not supported"),
        ("http:///x", "names no host"),
        ("http://u:pw-XYZ@host:99999/x", "port is not a number"),
    ],
)
def test_a_target_that_cannot_take_events_is_refused_before_the_run(
    workdir: Path, capfd, target: str, says: str
) -> None:
    recipe = demo_recipe(workdir, STEPS)
    code, output = run_entry(["run", str(recipe), "--lineage", target], capfd)
    assert code == 2 and says in output
    assert not (workdir / "out").exists()


def test_an_existing_event_file_is_never_replaced_nor_followed(tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / f"{uuid.UUID(hex=run_id)}.1.START.json").symlink_to(victim)
    warned: list[str] = []
    lineage = Lineage(str(tmp_path), warned.append)
    lineage.start(run_id, "test", [{"path": "in.csv", "columns": ["age"]}], [{"path": "out"}])
    lineage.complete(3, ["age"])
    assert victim.read_text() == "precious"
    assert len(warned) == 1 and "START not delivered" in warned[0]
    assert [p.name.split(".")[2] for p in tmp_path.glob("*.COMPLETE.json")] == ["COMPLETE"]


def test_a_server_that_breaks_the_protocol_is_a_warning(tmp_path: Path) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def garbage() -> None:  # answers anything with bytes that are no HTTP
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"\x00\x01 not http at all\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=garbage, daemon=True)
    thread.start()
    warned: list[str] = []
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/lineage"
    Lineage(url, warned.append).start(uuid.uuid4().hex, "test", [{"path": "in.csv"}], [])
    thread.join(5)
    listener.close()
    assert len(warned) == 1 and "START not delivered" in warned[0], warned


def test_a_printed_url_has_no_user_password_or_query() -> None:
    assert shown("https://u:p@host:8443/api/v1/lineage?key=K") == "https://host:8443/api/v1/lineage"
    assert shown("lineage/events") == "lineage/events"
