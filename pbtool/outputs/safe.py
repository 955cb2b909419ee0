"""User-supplied text made safe for rich: a copy of a result whose every string has its control
characters (ESC sequences, bidi overrides) stripped and its rich markup escaped, so a name holding
`[/]` or `[link=…]` prints as written. The renderers stay unchanged; JSON uses the original result."""
from __future__ import annotations

import copy
import dataclasses
from typing import Any

from rich.markup import escape

from ..errors import clean_text


def for_terminal(value: Any) -> Any:
    if isinstance(value, str):
        # the usual text (printable: no control or format character; no markup bracket) is already safe:
        # a city's result holds a million strings
        if value.isprintable() and "[" not in value and not value.endswith("\\"):
            return value
        return escape(clean_text(value))
    if isinstance(value, list):
        return [for_terminal(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(for_terminal(v) for v in value)
    if isinstance(value, dict):
        return {for_terminal(k): for_terminal(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = copy.copy(value)
        for f in dataclasses.fields(value):
            try:
                object.__setattr__(out, f.name, for_terminal(getattr(value, f.name)))
            except AttributeError:
                pass
        return out
    return value
