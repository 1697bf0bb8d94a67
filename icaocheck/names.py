"""File names as reports and the terminal show them: printable UTF-8, with an exact form beside.

A POSIX file name is any bytes but ``/`` and NUL: it may not be UTF-8 (Python then holds the
bytes as lone surrogates), and it may hold a newline, which would split a one-line-per-photo
output and let a file name forge a ``PASS`` line, or an ANSI escape, which would restyle the
terminal. So a name is shown in a printable form and, when that form differs from the name,
kept exactly in a percent-encoded form beside it:

* :func:`printable` turns bytes that are not UTF-8 into ``\\xNN`` and control characters
  (C0, DEL, C1, Unicode's line separators and bidirectional overrides) into ``\\n``, ``\\x1b``,
  ``\\u202e``; every other character is kept;
* :func:`percent_encoded` gives the name's bytes percent-encoded (RFC 3986, ``/`` kept), which is
  ASCII, exact and undone by :func:`from_percent_encoded`.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that move the cursor, end a line or reorder the text around them on a terminal.
_UNPRINTABLE = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_PRINTABLE = {
    code: _ESCAPES.get(chr(code), f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") for code in _UNPRINTABLE
}


def name_bytes(name: str) -> bytes:
    """The bytes a file name stands for (lone surrogates as the bytes they were decoded from)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A surrogate that no file-system decoding produces (a string built in Python): kept as
        # its UTF-8-style encoding, which printable() then shows as \x escapes.
        return name.encode("utf-8", "surrogatepass")


def printable(text: str) -> str:
    """``text`` as valid UTF-8 with no control character: non-UTF-8 bytes and controls as escapes."""
    return name_bytes(text).decode("utf-8", "backslashreplace").translate(_PRINTABLE)


def percent_encoded(name: str) -> str | None:
    """The exact name, percent-encoded, when :func:`printable` changes it; None when it shows it as it is."""
    if printable(name) == name:
        return None
    return quote(name_bytes(name), safe="/")


def from_percent_encoded(shown: str, encoded: str | None) -> str:
    """The name a report row stands for: decoded from ``encoded`` when there is one, else ``shown``."""
    if not encoded:
        return shown
    return unquote_to_bytes(encoded).decode("utf-8", "surrogateescape")
