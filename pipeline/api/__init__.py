"""The Python API: what the commands do, for notebooks and scripts.

Every function here is what an ``anonymize`` command does, with Python values in and out:
``run`` is ``anonymize run``, ``tabulate`` is ``anonymize tabulate``, ``risk`` is
``anonymize risk``, ``scan`` is ``anonymize scan``, ``utility`` is ``anonymize utility``;
``apply_step`` applies one step to a DataFrame, as a run would (to try a step in a notebook).
A recipe may be a file or a mapping (a dict). Data may be a file path (CSV or Parquet), a
pandas DataFrame or a pyarrow Table. Errors are the commands' own, raised as typed exceptions
carrying their problems (``RecipeError``: exit 2, ``InputDataError``: exit 3, ``GateError``: exit 4,
``OutputBusyError``: exit 6), and an unexpected error is raised as :class:`UnexpectedError` naming
its type and place only: a library's message may quote data values and is never passed on.

The functions live one command a module (``_jobs``, ``_risk``, ``_files``, ``_step``); this
module is the one public name.
"""

from pipeline.api._files import scan, utility
from pipeline.api._guard import Data, UnexpectedError
from pipeline.api._jobs import run, tabulate
from pipeline.api._risk import RiskResult, risk, suda2
from pipeline.api._step import apply_step

__all__ = [
    "Data",
    "RiskResult",
    "UnexpectedError",
    "apply_step",
    "risk",
    "run",
    "scan",
    "suda2",
    "tabulate",
    "utility",
]
