"""The base of every model a user writes: unknown keys refused, and booleans for numbers.

YAML reads ``true``, ``yes`` and ``on`` as booleans and Python's ``True`` is an ``int``, so
pydantic would take ``k: true`` as ``k = 1`` (no protection at all). A :class:`StrictModel`
refuses a boolean wherever a number is expected: in a number field, in a list or mapping of
numbers, in a union with a number that does not also accept booleans. Fields declared ``bool``
take booleans as usual.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

_NUMBERS = (int, float)
_UNIONS = (Union, types.UnionType)


def _accepts(annotation: Any) -> tuple[bool, bool]:
    """Whether ``annotation`` itself (not its items) takes (a number, a boolean)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _accepts(get_args(annotation)[0])
    if origin in _UNIONS:
        found = [_accepts(arg) for arg in get_args(annotation)]
        return any(n for n, _ in found), any(b for _, b in found)
    if origin is Literal:
        values = get_args(annotation)
        numbers = any(isinstance(v, _NUMBERS) and not isinstance(v, bool) for v in values)
        return numbers, any(isinstance(v, bool) for v in values)
    if annotation is bool:
        return False, True
    if annotation in _NUMBERS:
        return True, False
    return False, annotation is Any


def _items(annotation: Any, value: Any) -> list[tuple[Any, Any]]:
    """The (annotation, value) pairs of a list's items or a mapping's values inside ``value``."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _items(get_args(annotation)[0], value)
    if origin in _UNIONS:
        return [pair for arg in get_args(annotation) for pair in _items(arg, value)]
    args = get_args(annotation)
    if origin in (list, set, frozenset) and isinstance(value, list | tuple) and args:
        return [(args[0], item) for item in value]
    if origin is tuple and isinstance(value, list | tuple) and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return [(args[0], item) for item in value]
        return list(zip(args, value, strict=False))
    if origin in (dict, typing.Mapping) and isinstance(value, dict) and len(args) == 2:
        return [(args[1], item) for item in value.values()]
    return []


def boolean_for_number(annotation: Any, value: Any) -> bool:
    """True when ``value`` holds a boolean where ``annotation`` expects a number."""
    if isinstance(value, bool):
        numbers, booleans = _accepts(annotation)
        return numbers and not booleans
    return any(boolean_for_number(inner, item) for inner, item in _items(annotation, value))


class StrictModel(BaseModel):
    """A model that rejects unknown keys and booleans for numbers, and is frozen once valid."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Refuse ``true``/``false`` where a number is expected (``k: true`` is not ``k: 1``)."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and boolean_for_number(field.annotation, value):
            raise ValueError("expected a number, not true/false")
        return value
