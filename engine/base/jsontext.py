"""JSON text of a document made of JSON's own types (str keys, lists, numbers, strings, booleans, null): UTF-8 bytes
written by orjson, with a number that is not finite refused rather than written as null."""

from __future__ import annotations

import math
from typing import Any

import orjson


def _finite(value: Any) -> bool:
    """Whether every float in ``value`` is finite (iteratively: a deep document cannot exhaust the stack)."""
    stack = [value]
    pop, extend, finite = stack.pop, stack.extend, math.isfinite
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float and not finite(item):
            return False
    return True


def to_json(value: Any, indent: bool = False) -> bytes:
    """``value`` as JSON (two-space indents when ``indent``); ValueError for NaN or an infinity, TypeError for
    anything but JSON's own types."""
    if not _finite(value):
        raise ValueError("Out of range float values are not JSON compliant (NaN or an infinity)")
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0)
