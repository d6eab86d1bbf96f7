"""Benchmarks: each figure printed beside a floor measured in the same run (make bench)."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "casso")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
