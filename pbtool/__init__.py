"""pbtool: import street rosters and resource lists, find Party-building blind spots, write reports."""
import sys

__version__ = "0.1.0"


class _PandasGate:
    """A finder that fails `import pandas` only while `closed` (pbtool/arrow.py closes it for the moment
    it asks pyarrow whether pandas is there). Installed once, here, when the package is first imported:
    changing sys.meta_path later, from a worker thread, could make another thread's import skip a finder."""

    closed = False

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if self.closed and (name == "pandas" or name.startswith("pandas.")):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


PANDAS_GATE = _PandasGate()
sys.meta_path.insert(0, PANDAS_GATE)
