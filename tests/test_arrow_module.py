"""pbtool.arrow: pyarrow without pandas. A fresh process (pandas is installed: the benchmarks use it)
converts Python values the ways pbtool does and must not have imported pandas, which costs 0.45 s of
every import and coverage run; code that really wants pandas afterwards still gets it."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CHECK = """
import sys
from pbtool.arrow import pa, pc
pa.array(["甲", None]); pa.scalar("x"); pc.equal(pa.array(["a"]), "a"); pa.array([1, None], pa.int64())
pc.if_else(pc.equal(pa.array(["a"]), "a"), "x", pa.array(["b"]))
print("pandas" in sys.modules)
import pandas
print(type(pa.table({"a": [1, 2]}).to_pandas()).__name__, len(pa.array(pandas.Series([1, 2]))))
"""


def test_pyarrow_converts_python_values_without_importing_pandas():
    out = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "DataFrame", "2"]


def test_the_gate_is_open_outside_that_moment():
    import pbtool
    import pbtool.arrow

    assert pbtool.PANDAS_GATE.closed is False
    assert sys.meta_path.count(pbtool.PANDAS_GATE) == 1
