"""anonymize: YAML recipes that turn personal microdata into anonymized microdata files."""

from datetime import UTC, datetime

__version__ = "0.1.0"
TOOL = "anonymize-pipeline"  # the marker in every JSON file this tool writes


def now_utc() -> str:
    """Current time as an ISO-8601 UTC string (every artifact's ``generated_at``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
