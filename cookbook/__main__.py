"""``python -m cookbook``: see ``cookbook.cli``."""

import sys

from cookbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
