"""``python -m schemas.compat``: exit 0 when all schema changes are compatible, else 1."""

from schemas.compat import main

raise SystemExit(main())
