"""The embedded default: everything needed to run the stack without AWS. Never deployed.

On Lambda the CassoLayer's code sits on the import path (/opt/python); locally its source
folder takes that place, so `python -m local.<tool>` works without installing anything.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "casso")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
