"""``python -m simulator``: see README.md for options."""

from .app import main

raise SystemExit(main())
