"""JSON the way Rails writes it: compact, UTF-8, with ``<``, ``>``, ``&`` and the JS line separators escaped.

ActiveSupport escapes those characters so JSON can be pasted into HTML; a client that parses JSON never
notices, one that searches the raw body for ``&`` does.
"""

from __future__ import annotations

import json
from typing import Any

JSON = dict[str, Any]
"""A decoded JSON object."""

_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def dumps(value: Any) -> bytes:
    """Encode ``value`` as Rails would render it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # These characters can only occur inside JSON strings, so replacing them everywhere is safe.
    for char, escape in _ESCAPES:
        if char in text:
            text = text.replace(char, escape)
    return text.encode("utf-8")
