"""anonymize: YAML recipes that turn personal microdata into anonymized microdata files.

The Python API is ``pipeline.api`` (``from pipeline import api``; ``api.run``, ``api.tabulate``,
``api.risk``, ``api.scan``, ``api.utility``): ``pipeline.tabulate``, ``pipeline.risk``,
``pipeline.scan`` and ``pipeline.utility`` are the packages that implement them. ``run`` and
the errors are also here. No module of the package imports this one (it imports ``api``, which
imports nearly everything): ``TOOL`` and ``now_utc`` live in the leaf ``pipeline.core.artifact``.
"""

from pipeline import api
from pipeline.api import RiskResult, UnexpectedError, run
from pipeline.core.artifact import TOOL as TOOL  # the marker in every JSON file this tool writes
from pipeline.core.errors import (
    AnonymizeError,
    GateError,
    InputDataError,
    OutputBusyError,
    RecipeError,
)

__version__ = "0.1.0"

__all__ = [
    "AnonymizeError",
    "GateError",
    "InputDataError",
    "OutputBusyError",
    "RecipeError",
    "RiskResult",
    "UnexpectedError",
    "api",
    "run",
]
