"""All steps. Importing this package imports every module in it, which fills ``STEPS``.

A step lives in its own module here and registers itself with ``@step``: adding one touches
that module (and its tests) only.
"""

import importlib
import pkgutil

from pipeline.steps.registry import STEPS, StepContext, StepParams, StepSpec, step

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["STEPS", "StepContext", "StepParams", "StepSpec", "step"]
