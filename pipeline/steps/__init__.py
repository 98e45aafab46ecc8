"""All steps. Importing this package fills the registry ``STEPS``."""

from pipeline.steps import (  # noqa: F401
    generalize,
    identifiers,
    microaggregate,
    noise,
    pram,
    recode,
    risk,
    sampling,
    series,
    swap,
    topcode,
)
from pipeline.steps.registry import STEPS, StepContext, StepParams, StepSpec, step

__all__ = ["STEPS", "StepContext", "StepParams", "StepSpec", "step"]
