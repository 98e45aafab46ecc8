"""URLs as they may be printed or recorded: never a user, a password or (by default) a query.

One home for the tool's addresses of databases, object stores and lineage servers: messages,
logs, manifests and lineage events name them through :func:`shown_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def shown_url(url: str, query: bool = False) -> str:
    """``url`` with scheme, host, port and path only (and its query when ``query``).

    Text that is no URL (a local path) is returned as it is.
    """
    if "://" not in url:
        return url
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number: not shown
        port = ""
    kept = parts.query if query else ""
    return urlunsplit((parts.scheme, f"{parts.hostname or ''}{port}", parts.path, kept, ""))
