"""``python -m tinygrad_loss`` is the ``tinygrad-loss`` command."""

from .cli import main

raise SystemExit(main())
