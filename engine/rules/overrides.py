"""What-ifs: ``--set ADDRESS=VALUE`` parsed, checked against what depends on it, and laid over the rule files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml

from engine.base.errors import OverrideError


def parse_override(text: str) -> tuple[str, Any]:
    """``quality.case_minimum=30`` -> (address, value); the value is read as YAML."""
    address, sep, raw = text.partition("=")
    if not sep or not address.strip():
        raise OverrideError(f"--set {text!r}: expected ADDRESS=VALUE, e.g. payment.performance_threshold=60")
    try:
        return address.strip(), yaml.safe_load(raw)
    except yaml.YAMLError:
        raise OverrideError(f"--set {text!r}: the value is not valid YAML") from None


def parse_as_of(value: str | dt.date | None) -> dt.date | None:
    """An ``--as-of`` date; only the ISO form YYYY-MM-DD is accepted."""
    if value is None or isinstance(value, dt.date):
        return value
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OverrideError(f"--as-of {value!r}: expected a date as YYYY-MM-DD (year, month, day)") from None


def is_param(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "cite" in node


def is_rule(node: Any) -> bool:
    return isinstance(node, dict) and ("when" in node or "formula" in node) and "cite" in node


def _node_at(docs: Mapping[str, Any], address: str) -> Any:
    stem, _, rest = address.partition(".")
    node = docs.get(stem)
    for part in rest.split(".") if rest else []:
        if isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("id") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            break
    return node


def check_overrides(docs: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """Refuse a what-if on a value nothing reads, or on one others were derived from unless those are set too."""
    for address in overrides:
        node = _node_at(docs, address)
        if is_param(node) and node.get("documentary"):
            raise OverrideError(f"--set {address}: no scoring step reads this value (it is documentary), "
                                "so changing it would change nothing")
        stale = [d for d in (node.get("dependents", []) if isinstance(node, dict) else []) if d not in overrides]
        if stale:
            raise OverrideError(f"--set {address}: {', '.join(stale)} {'is' if len(stale) == 1 else 'are'} derived "
                                "from this value; set them too (or change them instead)")


def apply_override(docs: dict[str, Any], address: str, value: Any) -> None:
    """Replace the value (or a condition's expression, or a table's rows) at ``address`` in the raw documents."""
    node = _node_at(docs, address)
    if isinstance(node, dict) and "rows" in node and "id" in node:
        node["rows"] = value
    elif is_param(node):
        node["value"] = value
        node.pop("amendments", None)
    elif is_rule(node):
        node["formula" if "formula" in node else "when"] = str(value)
    else:
        raise OverrideError(f"--set {address}: no rulebook value has this address")
