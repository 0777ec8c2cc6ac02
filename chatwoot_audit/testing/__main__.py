"""``python -m chatwoot_audit.testing``: run the emulator as a standalone server."""

from ._cli import main

raise SystemExit(main())
