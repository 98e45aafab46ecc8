"""All steps. Importing this package fills the registry ``STEPS``."""

from pipeline.steps import generalize, identifiers, recode, risk, sampling, topcode  # noqa: F401
from pipeline.steps.registry import STEPS, StepContext, StepParams, StepSpec, step

__all__ = ["STEPS", "StepContext", "StepParams", "StepSpec", "step"]
