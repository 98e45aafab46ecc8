"""The data-quality gate: contracts and privacy expectations, all checked before publishing.

Each module below declares the kinds of check it computes (``pipeline.gate.catalog``); they are
imported here so that every kind is registered whichever module of the gate is imported first.
"""

from pipeline.gate import contract_table, derive, groups, scanning, series, utility

__all__ = ["contract_table", "derive", "groups", "scanning", "series", "utility"]
