"""anonymize: YAML recipes that turn personal microdata into anonymized microdata files."""

from datetime import UTC, datetime

__version__ = "0.1.0"
TOOL = "anonymize-pipeline"  # the marker in every JSON file this tool writes


def now_utc() -> str:
    """Current time as an ISO-8601 UTC string (every artifact's ``generated_at``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# The Python API is ``pipeline.api`` (``from pipeline import api``; ``api.run``, ``api.tabulate``,
# ``api.risk``, ``api.scan``, ``api.utility``): ``pipeline.tabulate``, ``pipeline.risk``,
# ``pipeline.scan`` and ``pipeline.utility`` are the packages that implement them. ``run`` and
# the errors are also here.
from pipeline import api  # noqa: E402
from pipeline.api import RiskResult, UnexpectedError, run  # noqa: E402
from pipeline.errors import (  # noqa: E402
    AnonymizeError,
    GateError,
    InputDataError,
    OutputBusyError,
    RecipeError,
)

__all__ = [
    "AnonymizeError", "GateError", "InputDataError", "OutputBusyError", "RecipeError",
    "RiskResult", "UnexpectedError", "api", "run",
]  # fmt: skip
