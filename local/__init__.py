"""Everything needed to run the stack without AWS, never deployed. Three packages:

    stack/          the local stack, the harness the tests, `make demo` and `make dev` run on:
                    local AWS (a moto server) provisioned from template.yaml, each function in a
                    local Lambda runtime, the SQS poller, the HTTP front, the schedule
    casso/          the Casso simulator: Casso's REST API v2 and its webhook sender, on loopback
    cli/            the developer's tools: `python -m local.cli`, `make demo`, local invoke, the
                    sample events
    invoke          `python -m local.invoke`, the documented command: runs cli/invoke.py
    sample_events   `python -m local.sample_events` (`make events`): runs cli/sample_events.py

cli/ uses stack/ and casso/; neither imports cli/. stack/ starts the simulator (pipeline), and
the simulator serves on stack/'s loopback server (tests/unit/test_local_layout.py checks this).

On Lambda the CassoLayer's code sits on the import path (/opt/python); locally its source
folder takes that place, so `python -m local.<tool>` works without installing anything.
"""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "casso")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
