"""Value types shared by every layer (clients, domain, stores, pipeline).

Kept tiny on purpose: a type lives here only when two layers exchange it.
"""

from __future__ import annotations

from typing import NamedTuple


class Tag(NamedTuple):
    """One ANS-104 tag, in upload order (names may repeat).

    A named tuple so that rows can store it as a plain ``(name, value)`` pair and
    code can read ``tag.name``/``tag.value``.
    """

    name: str
    value: str
