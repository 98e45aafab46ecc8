"""Object storage (``s3://``, ``gs://``, ``abfs://``) for inputs and outputs, through fsspec.

Credentials come from the environment the storage's own library reads (for S3:
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, an instance role;
``AWS_ENDPOINT_URL`` for an S3-compatible server), never from a recipe, and are never printed.
The backends are optional packages (``pip install anonymize-pipeline[s3]`` for s3fs).

* Input: the object (a CSV or Parquet file) or every object under the prefix (a folder of
  Parquet files) is copied, streamed, into a private local folder that the run reads and
  removes (:func:`fetched`); the bytes are the objects', so the input's SHA-256 and everything
  drawn from it are those of the same files read locally.
* Output: a store has no atomic rename, so the manifest is the commit point (:func:`publish`):
  the old release's manifest is deleted first (from then on readers trust nothing), the new
  files are written, the old release's files that the new one does not have are deleted
  (only files listed in the old manifest: the tool's own), and the manifest is written last.
  A reader, and ``--gate-only``, trusts a release only through a manifest whose files all
  match. A prefix that holds objects but no manifest of this tool is never written to.

Errors are named (not found, permission denied, no credentials, storage unreachable, backend
not installed), never with the library's text.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipeline.core.artifact import TOOL
from pipeline.core.errors import AnonymizeError, InputDataError, Problem, RecipeError
from pipeline.io.urls import shown_url

SCHEMES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "abfs": "adlfs",
    "az": "adlfs",
}
MANIFEST = "manifest.json"


def is_remote(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` names object storage (``scheme://``, a scheme of ``SCHEMES``)."""
    return isinstance(path, str) and urlsplit(path).scheme in SCHEMES


def _filesystem(url: str, error: type[AnonymizeError]) -> tuple[Any, str]:
    scheme = urlsplit(url).scheme
    try:
        import fsspec

        return fsspec.core.url_to_fs(url)
    except ImportError:
        package = SCHEMES.get(scheme, "its fsspec backend")
        raise error(
            [Problem(f"{shown_url(url)}: {scheme}:// needs {package} (pip install it)", "storage")]
        ) from None


def _named(exc: BaseException, url: str, doing: str, error: type[AnonymizeError]) -> AnonymizeError:
    """A storage failure as a named problem, never the library's text."""
    kind = type(exc).__name__
    if isinstance(exc, FileNotFoundError):
        what = "not found"
    elif isinstance(exc, PermissionError) or "AccessDenied" in kind:
        what = "permission denied"
    elif "Credential" in kind:
        what = "no credentials (set the storage's environment variables)"
    elif "Endpoint" in kind or "Connect" in kind or isinstance(exc, ConnectionError):
        what = "storage unreachable"
    else:
        what = f"the storage refused the request ({kind})"
    return error([Problem(f"{shown_url(url)}: could not {doing}: {what}", code="storage")])


@contextlib.contextmanager
def fetched(url: str) -> Iterator[Path]:
    """A private local copy of the object or prefix ``url``, removed when the block ends."""
    fs, root = _filesystem(url, InputDataError)
    folder = Path(tempfile.mkdtemp(prefix="anonymize-remote-"))
    try:
        try:
            if fs.isdir(root):
                local = folder / "data"
                for key in sorted(fs.find(root)):
                    target = local / _inside(os.path.relpath(key, root), url)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    fs.get_file(key, str(target))
            elif fs.isfile(root):
                local = folder / Path(root).name
                fs.get_file(root, str(local))
            else:
                raise FileNotFoundError(root)
        except AnonymizeError:
            raise
        except Exception as exc:  # noqa: BLE001 - every storage error is named, never quoted
            raise _named(exc, url, "read the input", InputDataError) from None
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # made by this run alone, above


def _plain_name(name: str) -> bool:
    """A relative name under the prefix: no ``..``, no leading ``/``, no empty part."""
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def _inside(relative: str, url: str) -> str:
    """``relative`` if it stays inside the copy's folder (a key with ``..`` is refused)."""
    if not _plain_name(relative.replace(os.sep, "/")):
        raise InputDataError(
            [Problem(f"{shown_url(url)}: an object's key leaves its prefix (..)", code="storage")]
        )
    return relative


def _old_release(fs: Any, root: str, url: str) -> dict | None:
    """The manifest of the release at ``root`` (None: the prefix is empty)."""
    manifest = f"{root.rstrip('/')}/{MANIFEST}"
    if fs.exists(manifest):
        try:
            with fs.open(manifest, "rb") as fh:
                old = json.loads(fh.read(8 << 20))
        except ValueError:
            old = None
        if isinstance(old, dict) and old.get("tool") == TOOL:
            return old
    elif not fs.exists(root) or not fs.find(root):
        return None
    raise RecipeError(
        [
            Problem(
                f"output {shown_url(url)} holds objects this tool did not write (no manifest of "
                "its own): refusing to write there",
                code="not_ours",
            )
        ],
        title="usage error",
    )


def check_output(url: str) -> None:
    """Before a run: the prefix is empty or holds a release this tool published."""
    fs, root = _filesystem(url, RecipeError)
    try:
        _old_release(fs, root, url)
    except AnonymizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every storage error is named, never quoted
        raise _named(exc, url, "read the output prefix", InputDataError) from None


def publish(local: Path, url: str) -> None:
    """Write the published folder ``local`` to ``url``, the manifest last (the commit point)."""
    fs, root = _filesystem(url, RecipeError)
    root = root.rstrip("/")
    try:
        old = _old_release(fs, root, url)
        new = sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file())
        if old is not None:
            fs.rm_file(f"{root}/{MANIFEST}")  # from here on, readers trust nothing
        for name in new:
            if name != MANIFEST:
                fs.put_file(str(local / name), f"{root}/{name}")
        listed = [r.get("path") for k in ("files", "artifacts") for r in (old or {}).get(k, [])]
        owned = {n for n in listed if isinstance(n, str) and _plain_name(n)}
        for name in sorted(owned - set(new)):
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(f"{root}/{name}")  # the old release's own file, not in the new one
        fs.put_file(str(local / MANIFEST), f"{root}/{MANIFEST}")
    except AnonymizeError:
        raise
    except Exception as exc:  # noqa: BLE001 - every storage error is named, never quoted
        raise _named(exc, url, "write the output", InputDataError) from None
