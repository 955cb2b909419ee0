"""JSON output (`--format json`): orjson, written piece by piece, so that a city's result (50,000
places, 55 MB of JSON) never stands in memory as one more copy. The pieces joined are byte for byte
orjson.dumps() of the whole value."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

OPTIONS = orjson.OPT_NON_STR_KEYS
CHUNK = 2_000   # list items per piece


def json_chunks(data: Any, indent: bool = False) -> Iterator[bytes]:
    """Compact JSON of `data` in pieces: a top-level object's long lists a few thousand items at a
    time, and an array already written in pieces (findings.JsonArray, coverage's places) piece by
    piece. Indented JSON (for a person at a terminal) comes in one piece."""
    from ..findings import JsonArray

    if indent or not isinstance(data, dict):
        if isinstance(data, dict):
            data = {k: orjson.Fragment(bytes(v)) if isinstance(v, JsonArray) else v for k, v in data.items()}
        yield orjson.dumps(data, option=OPTIONS | (orjson.OPT_INDENT_2 if indent else 0))
        return
    yield b"{"
    for i, (key, value) in enumerate(data.items()):
        yield (b"," if i else b"") + orjson.dumps({key: 0}, option=OPTIONS)[1:-2]   # '"key":' as orjson writes keys
        if isinstance(value, JsonArray):
            yield b"["
            yield from value.pieces
            yield b"]"
        elif isinstance(value, list) and len(value) > CHUNK:
            yield b"["
            for start in range(0, len(value), CHUNK):
                yield (b"," if start else b"") + orjson.dumps(value[start:start + CHUNK], option=OPTIONS)[1:-1]
            yield b"]"
        else:
            yield orjson.dumps(value, option=OPTIONS)
    yield b"}"
