"""The API token, and everything that keeps it out of what the SDK and the command line show or write.

The SDK holds the token as a :class:`Token` (a str whose repr is blanked), sends it in one header, and
blanks it as :data:`REDACTED` in whatever an answer echoes back before anything reads it: raw bytes in
every encoding an ASCII token can come back in, decoded text, parsed JSON (where an escaped echo first
shows), and the request an error carries. The command line holds it as a :class:`Secret` (not a str at
all) and blanks every registered secret in every line it prints, tracebacks included. No I/O.
"""

from __future__ import annotations

from typing import Final

import httpx

__all__ = [
    "REDACTED",
    "Secret",
    "Token",
    "add_secret",
    "blank_secrets",
    "clear_secrets",
    "is_visible_ascii",
    "redact_request",
    "scrub",
    "scrub_bytes",
    "scrub_parsed",
    "scrubbed_parsed",
]

REDACTED: Final = "<redacted>"

# The characters a token may hold: visible ASCII, so that it travels in an HTTP header as it is.
_VISIBLE_ASCII: Final = frozenset(map(chr, range(0x21, 0x7F)))


class Token(str):
    """The API token: a str that never shows itself in a repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<redacted>'"


class Secret:
    """A value that never shows itself: not in a repr, not in a str, not in a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('<redacted>')"

    __str__ = __repr__


def is_visible_ascii(token: str) -> bool:
    """Whether ``token`` is only visible ASCII (no spaces, no byte-order mark, no accented letter).

    Callers refuse it by naming the rule, never the character at fault: that would show part of the secret.
    """
    return _VISIBLE_ASCII.issuperset(token)


def scrub(text: str, token: str) -> str:
    """``text`` with the token blanked: servers and proxies may echo request headers in an error page."""
    return text.replace(token, REDACTED) if token in text else text


# The token is ASCII, so these are all the ways its bytes can come back: as UTF-8 (and every ASCII-based
# charset), or 2 or 4 bytes a character. Decoded with the wrong charset, the wider forms read as the
# token with NULs between its letters, or as other characters that encode back to it.
_TOKEN_ENCODINGS: Final = ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def scrub_bytes(content: bytes, token: str) -> bytes:
    """``content`` with the token blanked in each encoding it may be echoed in, before anything decodes it."""
    for encoding in _TOKEN_ENCODINGS:
        needle = token.encode(encoding)
        if needle in content:
            content = content.replace(needle, REDACTED.encode(encoding))
    return content


def scrub_parsed(body: object, token: str) -> object:
    """A parsed JSON ``body`` with the token blanked in every string, keys included, however deep.

    The raw text is scrubbed before decoding, but a proxy may echo the token JSON-escaped (``\\/`` for
    a slash, ``\\u0074`` for a letter), which only decoding reveals. Only error paths pay for this walk.
    """
    return scrubbed_parsed(body, token)[0]


def scrubbed_parsed(body: object, token: str) -> tuple[object, bool]:
    """``body`` with the token blanked, and whether there was any to blank.

    The body is fresh from json.loads (no container in it twice), so lists and dicts are changed in
    place, without recursion: nesting as deep as json.loads allows cannot overflow the stack.
    """
    if isinstance(body, str):
        return (body.replace(token, REDACTED), True) if token in body else (body, False)
    found = False
    pending = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and token in key for key in node):
                found = True
                items = [(k.replace(token, REDACTED) if isinstance(k, str) else k, v) for k, v in node.items()]
                node.clear()
                node.update(items)
            for key, value in node.items():
                if isinstance(value, str):
                    if token in value:
                        found = True
                        node[key] = value.replace(token, REDACTED)
                elif isinstance(value, dict | list):
                    pending.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if token in value:
                        found = True
                        node[index] = value.replace(token, REDACTED)
                elif isinstance(value, dict | list):
                    pending.append(value)
    return body, found


def redact_request(request: httpx.Request | None, header: str) -> None:
    """Blank the token in a request that an error will carry, so no repr or traceback can show it."""
    if request is not None and header in request.headers:
        request.headers[header] = REDACTED


# The command line's secrets: every line it prints passes through blank_secrets.
_secrets: set[str] = set()


def add_secret(value: str) -> None:
    """Never print ``value``."""
    if value:
        _secrets.add(value)


def clear_secrets() -> None:
    """Forget the registered secrets (between runs in one process)."""
    _secrets.clear()


def blank_secrets(text: str) -> str:
    """``text`` with every registered secret blanked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
