"""`python -m araie ...` (and `accelerate launch -m araie train ...`)."""

import sys

from araie.cli import main

sys.exit(main())
