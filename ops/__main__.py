"""`python -m ops`: the operator commands (ops.cli)."""

import sys

from ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
