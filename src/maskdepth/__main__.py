"""`python -m maskdepth` runs the CLI (also used by multi-process launchers)."""

import sys

from maskdepth.cli import main

sys.exit(main())
