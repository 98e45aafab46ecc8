"""An ODCS ``logicalType`` against a stored Arrow type: whether it matches, and in words."""

from __future__ import annotations

import pyarrow as pa

from pipeline.contracts.odcs import Property


def is_text(t: pa.DataType) -> bool:
    """Whether ``t`` is a text type."""
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def type_matches(logical: str, arrow: pa.DataType, whole_numbers: bool) -> bool:
    """Tell whether a stored Arrow type satisfies an ODCS ``logicalType``.

    ``whole_numbers`` is true for float columns known to hold only whole numbers.
    """
    checks = {
        "integer": pa.types.is_integer(arrow) or (pa.types.is_floating(arrow) and whole_numbers),
        "number": pa.types.is_integer(arrow)
        or pa.types.is_floating(arrow)
        or pa.types.is_decimal(arrow),
        "string": is_text(arrow),
        "boolean": pa.types.is_boolean(arrow) or is_text(arrow),
        "date": pa.types.is_date(arrow) or pa.types.is_timestamp(arrow) or is_text(arrow),
        "timestamp": pa.types.is_timestamp(arrow) or is_text(arrow),
        "time": pa.types.is_time(arrow) or is_text(arrow),
        "object": pa.types.is_struct(arrow),
        "array": pa.types.is_list(arrow) or pa.types.is_large_list(arrow),
    }
    return checks.get(logical, True)


def type_description(prop: Property, arrow: pa.DataType) -> str:
    """What the type check verified, in words.

    A float column passes as integer only when every value was measured to be a whole number.
    """
    what = f"{prop.name} is {prop.logicalType} (stored as {arrow}"
    if prop.logicalType == "integer" and pa.types.is_floating(arrow):
        return what + ": passes only if every value is a whole number)"
    return what + ")"
