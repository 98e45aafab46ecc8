"""What a run of a release series knows before it starts: the key, the previous state, levels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pipeline.series.state import SeriesKey, SeriesState


@dataclass(frozen=True)
class SeriesContext:
    """A release series in a run (``StepContext.series``).

    Attributes:
        key: The keys derived from the series key.
        person: The input column identifying a person.
        withhold: Withhold records whose merged view cannot reach k (else the gate blocks).
        state: The previous release's state (None: the first release of the series).
        previous: The folder of the previous release (None for the first).
    """

    key: SeriesKey = field(repr=False)
    person: str
    withhold: bool = True
    state: SeriesState | None = field(default=None, repr=False)
    previous: str | None = None

    @property
    def releases(self) -> int:
        """Releases before this one."""
        return len(self.state.header.releases) if self.state is not None else 0

    def levels(self, signature: str) -> dict[str, int] | None:
        """The generalization levels the series applied for the step of ``signature``."""
        if self.state is None:
            return None
        return self.state.header.levels.get(signature)


def step_signature(name: str, params: Any) -> str:
    """What identifies a step's parameters across releases (its name and canonical JSON)."""
    text = f"{name}:{params.model_dump_json()}".encode()
    return hashlib.sha256(text).hexdigest()[:16]
