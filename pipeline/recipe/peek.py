"""What a recipe file declares, seen before it is loaded: work worth starting early.

A run with data contracts validates rows with Great Expectations, whose worker process takes
about 4 s of imports; started before the run's own imports (about 1.5 s), they overlap. The
peek reads only the YAML parser's events (no recursion, nothing built), so any text is safe to
peek at. It is a hint, never a judgement: a file that cannot be read or parsed, or that says
something the peek does not follow (an alias), peeks as declaring nothing, and loading the
recipe reports what is wrong with it as before.
"""

from __future__ import annotations

from pathlib import Path

MAX_BYTES = 1 << 20  # a recipe is a few kB; a larger file is not peeked at


def declares_contracts(path: Path) -> bool:
    """Whether the recipe at ``path`` names an input or an output data contract."""
    import yaml

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            return False
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return _names_a_contract(yaml.parse(data.decode("utf-8"), Loader=loader))
    except Exception:  # noqa: BLE001 - a hint only: what cannot be peeked at names nothing
        return False


def _names_a_contract(events: object) -> bool:
    """Whether the top mapping's ``contracts`` mapping has a non-null ``input`` or ``output``.

    Per open mapping or list: the key of the item being read (None: a mapping's key comes
    next), whether it is a mapping, and whether it is itself a key (a complex key: the
    mapping holding it reads the value next when it ends).
    """
    import yaml

    path: list[str | None] = []
    mapping: list[bool] = []
    is_key: list[bool] = []
    for event in events:  # type: ignore[attr-defined]
        if isinstance(event, yaml.DocumentEndEvent):
            return False  # the first document is the recipe
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            path.pop()
            mapping.pop()
            if not is_key.pop():
                _item_done(path, mapping)
            continue
        key = bool(mapping) and mapping[-1] and path[-1] is None
        if key:
            path[-1] = event.value if isinstance(event, yaml.ScalarEvent) else ""
        elif _is_contract(path, event):
            return True
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            path.append(None)
            mapping.append(isinstance(event, yaml.MappingStartEvent))
            is_key.append(key)
        elif not key and isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            _item_done(path, mapping)
    return False


def _is_contract(path: list[str | None], event: object) -> bool:
    """Whether ``event`` is a non-null value at ``contracts.input`` or ``contracts.output``."""
    import yaml

    if path[:1] != ["contracts"] or len(path) != 2 or path[1] not in ("input", "output"):
        return False
    if isinstance(event, yaml.ScalarEvent):
        plain_null = event.implicit[0] and event.value in ("", "~", "null", "Null", "NULL")
        return not plain_null
    return not isinstance(event, yaml.AliasEvent)


def _item_done(path: list[str | None], mapping: list[bool]) -> None:
    """The current collection's item ended: a mapping expects its next key."""
    if mapping and mapping[-1]:
        path[-1] = None
