"""pyarrow, imported once for the whole package, without pandas.

pyarrow imports pandas (about 0.45 s, a quarter of a district's import and of a city's coverage run)
the first time it converts Python values (pa.array, pa.scalar, a Python value handed to a compute
function), only to ask whether those values are pandas objects. pbtool never hands it pandas objects.
So pyarrow is asked that question once here while `import pandas` is made to fail (pbtool.PANDAS_GATE):
its Cython shim and its C++ converter each try once, and then answer "not a pandas object" without
importing pandas. The shim still imports pandas when pandas is really needed (Table.to_pandas()
retries the import), so nothing that uses pandas breaks.
"""
from __future__ import annotations

import sys
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from . import PANDAS_GATE

if "pandas" not in sys.modules:
    PANDAS_GATE.closed = True      # `import pandas` fails (ImportError) while pyarrow tries it once
    try:
        pa.array([0], pa.int8())   # the Cython shim (is this a pandas object?)
        pa.scalar("")              # the C++ converter's pandas constants (NaT, NA)
    finally:
        PANDAS_GATE.closed = False



def int_array(values: Any) -> Any:
    """A numpy array of integers (indices, counts) as an Arrow array, without a copy. pa.array() of a
    numpy array first imports numpy.ma (17 ms, once per process) to ask whether it is masked."""
    import numpy as np

    v = np.ascontiguousarray(values)
    if v.dtype not in (np.int32, np.int64):
        v = v.astype(np.int64)
    return pa.Array.from_buffers(pa.int32() if v.dtype == np.int32 else pa.int64(), len(v), [None, pa.py_buffer(v)])


def whole(col: Any) -> Any:
    """A column as one Arrow array (a ChunkedArray's chunks combined)."""
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


__all__ = ["pa", "pc", "int_array", "whole"]
