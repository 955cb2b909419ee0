"""Work handed to a thread of its own while the caller goes on (the import's aggregate counting, a
file's digest beside the limits scan)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Background:
    """fn(*args) in a daemon thread; result() waits for it and returns its value or raises its error
    in the caller's thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "pbtool-background"):
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
