"""Operator commands for a deployed stack (docs/operations.md): `python -m ops --help`."""

import sys
from pathlib import Path

# The layer's code, as on Lambda, so the tools share the functions' definitions.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "casso")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
