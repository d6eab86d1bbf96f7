"""`python -m local.invoke ...`, the documented command for local invoke without Docker: it runs
local/cli/invoke.py, where the code is (import from there, not from here)."""

import sys

if __name__ == "__main__":
    from local.cli.invoke import main

    sys.exit(main())
