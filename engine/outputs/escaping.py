"""Text that comes from a submission, a profile, a rulebook or the command line, made inert in each output format.

Such text may carry newlines, terminal escape sequences, Markdown syntax or HTML. Every output writes it through
``one_line`` (plain text) or ``markdown``, so a value stays one value on its own line: it cannot start a heading,
a list item or a table row, colour a terminal, or become markup when Markdown is turned into HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# C0 and C1 controls, line and paragraph separators, bidirectional overrides and isolates, the byte-order mark
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# an underscore between two letters or digits cannot start or end emphasis, so identifiers stay as they are
_MD_SPECIAL = re.compile(r"[\\`*\[\]#|~&<>]|(?<![^\W_])_|_(?![^\W_])")
_MD_LINE_START = re.compile(r"^([-+=])|^(\d+)([.)])")  # a list item or a heading underline


def _escaped(char: str) -> str:
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def one_line(value: Any) -> str:
    """``value`` as text with every control, line-break and direction-changing character shown as an escape."""
    return _CONTROL.sub(lambda m: _escaped(m.group()), str(value))


def markdown(value: Any, line_start: bool = False) -> str:
    """``value`` as Markdown that renders as exactly this text: one line, no markup, no raw HTML; with
    ``line_start``, for a value that begins a line, not a list item or a heading underline either."""
    text = _MD_SPECIAL.sub(lambda m: _MD_ENTITIES.get(m.group()) or "\\" + m.group(), one_line(value))
    if not line_start:
        return text
    return _MD_LINE_START.sub(lambda m: f"\\{m.group(1)}" if m.group(1) else f"{m.group(2)}\\{m.group(3)}", text)


def line_start(fmt: str, value: Any) -> str:
    """``value`` escaped for ``fmt`` where it begins a line."""
    return markdown(value, line_start=True) if fmt == "md" else one_line(value)


def for_format(fmt: str) -> Callable[[Any], str]:
    """The escaping function of an output format: ``markdown`` for ``md``, else ``one_line``."""
    return markdown if fmt == "md" else one_line
