"""Tag lookups exactly as the reference's ``servers/cu/src/domain/utils.js`` does them.

Pure; no I/O. `parse_tags` folds tags into a dict where a repeated name maps to the list of its
values (reference-cu.md §A.1): lookups through it can yield a str, a list or nothing, and the
reference's rules (``Type !== 'Process'``, ``Module`` present...) depend on which.
`find_raw_tag` takes the first match instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aocu.jsjson import UNDEFINED

from ._model import Tag

__all__ = [
    "eq_or_includes",
    "find_raw_tag",
    "map_forwarded_by",
    "map_from",
    "map_sender",
    "parse_tags",
    "remove_tags_by_name",
]


def parse_tags(tags: Iterable[Tag] | None) -> dict[str, str | list[str]]:
    """``parseTags``: name -> value, or name -> [values...] when the name repeats."""
    acc: dict[str, list[str]] = {}
    for t in tags or ():
        acc.setdefault(t.name, []).append(t.value)
    return {k: v[0] if len(v) == 1 else v for k, v in acc.items()}


def find_raw_tag(name: str, tags: Iterable[Tag] | None) -> Tag | None:
    """``findRawTag``: the first tag called ``name``."""
    return next((t for t in tags or () if t.name == name), None)


def eq_or_includes(value: str, found: Any) -> bool:
    """``eqOrIncludes(value)``: a str equal to it, or a list containing it."""
    if isinstance(found, str):
        return found == value
    if isinstance(found, list):
        return value in found
    return False


def map_from(tags: Iterable[Tag] | None, owner: str) -> str:
    """``mapFrom``: a non-empty ``From-Process`` tag value, else the owner (§2.7)."""
    return map_sender(tags, owner)[0]


def map_forwarded_by(tags: Iterable[Tag] | None, owner: str) -> Any:
    """``mapForwardedBy``: the owner if a ``From-Process`` tag exists (even empty), else undefined."""
    return map_sender(tags, owner)[1]


def map_sender(tags: Iterable[Tag] | None, owner: str) -> tuple[str, Any]:
    """(``mapFrom``, ``mapForwardedBy``) from one look at the first ``From-Process`` tag."""
    for tag in tags or ():
        if tag.name == "From-Process":
            return (tag.value or owner), owner
    return owner, UNDEFINED


def remove_tags_by_name(tags: Iterable[Tag], name: str, value: str | None = None) -> tuple[Tag, ...]:
    """``removeTagsByNameMaybeValue``: drop tags called ``name`` (only those equal to ``value``
    when a non-empty value is given)."""
    if value:
        return tuple(t for t in tags if not (t.name == name and t.value == value))
    return tuple(t for t in tags if t.name != name)
