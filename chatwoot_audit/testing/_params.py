"""Reading the ``page`` query parameter the way Rack and Ruby's ``String#to_i`` do.

The real server hands ``params[:page]`` to Kaminari, which calls ``to_i`` on it. That is lenient with
strings (``"2abc"`` is 2, ``"abc"`` is 0 and so page 1) and fails on the array or hash Rack builds from
``page[]=1`` or ``page[x]=1`` (``NoMethodError``, a 500).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

# Ruby's to_i skips leading whitespace, takes an optional sign, then digits with single underscores
# between them ("1_000" is 1000); it stops at the first character that does not fit.
_RUBY_INT = re.compile(r"[ \t\n\v\f\r]*([+-]?\d+(?:_\d+)*)")
# Rack refuses a query with a malformed %-escape anywhere in it (Rails answers 400 Bad Request).
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# PostgreSQL's OFFSET is a bigint: a page beyond it makes the query itself fail.
_MAX_OFFSET = 2**63 - 1


def ruby_to_i(text: str | None) -> int:
    """``text.to_i`` in Ruby; ``nil.to_i`` is 0."""
    if text is None:
        return 0
    match = _RUBY_INT.match(text)
    return int(match.group(1).replace("_", "")) if match else 0


@dataclass(frozen=True)
class PageParam:
    """What the server makes of the query string.

    ``error`` is the status the request fails with (400 or 500) when the parameter cannot be used;
    otherwise ``number`` is the page Kaminari serves. ``raw`` is the parameter as sent, for the request log.
    """

    number: int = 1
    raw: str | None = None
    error: int | None = None


def page_param(query: str, per_page: int) -> PageParam:
    """Parse ``query`` (the raw part after ``?``) as Rack would and coerce ``page`` like Kaminari."""
    if _BAD_ESCAPE.search(query):
        return PageParam(raw=None, error=400)
    # Rack builds params left to right: a later ``page=`` replaces an earlier one, and ``page[]`` after a
    # string ``page`` is a type conflict (400). A bare ``page`` (no ``=``) is nil, which an array may replace.
    kind: str | None = None
    value: str | None = None
    raw: str | None = None
    for part in query.split("&"):
        if not part:
            continue
        key_text, has_value, value_text = part.partition("=")
        key = unquote_plus(key_text)
        if key == "page":
            kind = "string" if has_value else "nil"
            value = unquote_plus(value_text) if has_value else None
            raw = value if has_value else ""
        elif key.startswith("page["):
            nested = "array" if key.startswith("page[]") else "hash"
            if kind == "string" or (kind in ("array", "hash") and kind != nested):
                return PageParam(raw=unquote_plus(part), error=400)
            kind, value, raw = nested, None, unquote_plus(part)
    if kind in ("array", "hash"):
        return PageParam(raw=raw, error=500)
    number = max(ruby_to_i(value), 1)
    if per_page * (number - 1) > _MAX_OFFSET:
        return PageParam(number=number, raw=raw, error=500)
    return PageParam(number=number, raw=raw)
