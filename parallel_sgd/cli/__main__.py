"""``python -m parallel_sgd.cli``: the ``psgd`` command."""
import sys

from . import main

sys.exit(main())
