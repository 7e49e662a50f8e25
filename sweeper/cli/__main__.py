"""`python -m sweeper.cli`: the same as the `sweeper` command."""

import sys

from sweeper.cli import main

sys.exit(main())
