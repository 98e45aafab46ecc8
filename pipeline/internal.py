"""The engine's own columns, carried beside the data and never published."""

from __future__ import annotations

from pipeline.recipe.models import INTERNAL_PREFIX

ROW = f"{INTERNAL_PREFIX}row"  # position of the record in the input file, added by the engine
ORDER = f"{INTERNAL_PREFIX}order"  # published position key (shuffle_records); the writer sorts
