"""Entry point for `python -m aelib`."""

import sys

from aelib.cli import main

sys.exit(main())
