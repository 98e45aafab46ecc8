"""All steps. Importing this package fills the registry ``STEPS``."""

from pipeline.steps import (  # noqa: F401
    generalize,
    identifiers,
    noise,
    pram,
    recode,
    risk,
    sampling,
    topcode,
)
from pipeline.steps.registry import STEPS, StepContext, StepParams, StepSpec, step

__all__ = ["STEPS", "StepContext", "StepParams", "StepSpec", "step"]
