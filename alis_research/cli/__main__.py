"""``python -m alis_research.cli``: the same as the ``alis-research`` command."""
import sys

from . import main

sys.exit(main())
