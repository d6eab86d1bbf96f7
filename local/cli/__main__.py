"""`python -m local.cli ...`: the command line in local/cli/main.py."""

import sys

from local.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
