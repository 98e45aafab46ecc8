"""Every reason code a gate check reports, in one enum (the gate report's schema lists them).

A failed check is reported as ``[reason] stage id: what: observed X, required Y``; the codes are
stable, so a data engineer can act on them (alert on ``k_anonymity_violated``, retry nothing on
``identifier_found``).
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Why a gate check fails."""

    # privacy checks the gate derives from the recipe (pipeline.gate.derive)
    IDENTIFIER_COLUMN_PRESENT = "identifier_column_present"
    UNEXPECTED_COLUMNS = "unexpected_columns"
    CAP_EXCEEDED = "cap_exceeded"
    FLOOR_UNDERCUT = "floor_undercut"
    RECODE_VALUE_OUTSIDE_LEVEL = "recode_value_outside_level"
    K_ANONYMITY_VIOLATED = "k_anonymity_violated"
    GLOBAL_RISK_TOO_HIGH = "global_risk_too_high"
    L_DIVERSITY_VIOLATED = "l_diversity_violated"
    T_CLOSENESS_VIOLATED = "t_closeness_violated"
    SPECIAL_UNIQUES_TOO_MANY = "special_uniques_too_many"
    DIS_SCORE_TOO_HIGH = "dis_score_too_high"
    MODEL_RISK_TOO_HIGH = "model_risk_too_high"
    POPULATION_UNIQUES_TOO_MANY = "population_uniques_too_many"
    ROW_COUNT_MISMATCH = "row_count_mismatch"
    MICROAGGREGATION_GROUP_TOO_SMALL = "microaggregation_group_too_small"
    # a release series: the merged view of every release (pipeline.engine.series_run)
    SERIES_K_VIOLATED = "series_k_violated"
    SERIES_RISK_TOO_HIGH = "series_risk_too_high"
    # the recipe's utility limits (pipeline.gate.utility)
    UTILITY_LOSS_TOO_HIGH = "utility_loss_too_high"
    # the identifier scanner (pipeline.gate.scanning)
    UNDECLARED_IDENTIFIER = "undeclared_identifier"
    IDENTIFIER_FOUND = "identifier_found"
    # data contracts (pipeline.gate.contracts)
    COLUMN_MISSING = "column_missing"
    TYPE_MISMATCH = "type_mismatch"
    NULL_VALUES = "null_values"
    NOT_UNIQUE = "not_unique"
    OUT_OF_RANGE = "out_of_range"
    LENGTH_OUT_OF_RANGE = "length_out_of_range"
    PATTERN_MISMATCH = "pattern_mismatch"
    QUALITY_NULL_VALUES = "quality_null_values"
    QUALITY_MISSING_VALUES = "quality_missing_values"
    QUALITY_INVALID_VALUES = "quality_invalid_values"
    QUALITY_DUPLICATE_VALUES = "quality_duplicate_values"
    QUALITY_DUPLICATE_ROWS = "quality_duplicate_rows"
    ROW_COUNT_OUT_OF_BOUNDS = "row_count_out_of_bounds"
    # re-validation of a published output (--gate-only)
    RECIPE_MISMATCH = "recipe_mismatch"
    FILE_INTEGRITY = "file_integrity"
    MANIFEST_INCONSISTENT = "manifest_inconsistent"
    SIGNATURE_INVALID = "signature_invalid"
    # tabulation output checking
    INTERVAL_TOO_NARROW = "interval_too_narrow"
    HIDDEN_VALUE_PUBLISHED = "hidden_value_published"
    # a check that could not run on the data (it fails closed)
    CHECK_ERROR = "check_error"
