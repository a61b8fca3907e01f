"""``python -m mt_access.cli``: the same as ``mt-access``."""

from mt_access.cli.app import main

raise SystemExit(main())
