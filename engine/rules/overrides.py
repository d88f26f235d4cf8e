"""What-ifs: ``--set ADDRESS=VALUE`` parsed, checked against what depends on it, and laid over the rule files."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from engine.base.errors import OverrideError, RulebookError
from engine.base.yamlsource import MAX_BYTES, parse_yaml, plain_data_problem

MAX_ADDRESS = 200
RULE_KEYS = {"id", "when", "formula", "inputs", "cite", "unverified", "note"}  # a rule's own keys; the rest are its values
_ADDRESS = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:77]) + "..."


def check_address(address: Any) -> str:
    """A what-if's address: a file stem and a dotted path of keys (``payment.performance_threshold``)."""
    if not isinstance(address, str):
        raise OverrideError(f"--set {address!r}: an address is text (file stem + dotted path), not a "
                            f"{type(address).__name__}")
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        raise OverrideError(f"--set {_shown(address)}: not a rulebook address; expected a file stem and dotted keys, "
                            "e.g. payment.performance_threshold")
    return address


def parse_override(text: str) -> tuple[str, Any]:
    """``quality.case_minimum=30`` -> (address, value); the value is read as YAML, as bounded as a rule file's."""
    if not isinstance(text, str):
        raise OverrideError(f"--set {text!r}: expected ADDRESS=VALUE text")
    address, sep, raw = text.partition("=")
    if not sep or not address.strip():
        raise OverrideError(f"--set {_shown(text)}: expected ADDRESS=VALUE, e.g. payment.performance_threshold=60")
    address = check_address(address.strip())
    if len(raw) > MAX_BYTES:
        raise OverrideError(f"--set {address}: the value is {len(raw):,} characters; at most {MAX_BYTES:,} are read")
    try:
        value, _ = parse_yaml(raw, "--set value")
    except RulebookError as exc:
        place = f" (line {exc.location.line}, column {exc.location.column})" if exc.location.line else ""
        raise OverrideError(f"--set {address}: the value is not valid YAML data{place}: "
                            f"{exc.message.removeprefix('not valid YAML: ')}") from None
    return address, value


def check_values(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """What-ifs as given to the API: each address well formed and each value plain, bounded data (as YAML gives:
    text, finite numbers, true/false, null, lists and mappings with text keys)."""
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise OverrideError(f"what-ifs are a mapping of address to value, not a {type(overrides).__name__}")
    for address, value in overrides.items():
        check_address(address)
        problem = plain_data_problem(value)
        if problem:
            raise OverrideError(f"--set {address}: {problem}")
    return dict(overrides)


def parse_as_of(value: str | dt.date | None) -> dt.date | None:
    """An ``--as-of`` date; only the ISO form YYYY-MM-DD is accepted."""
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
        raise OverrideError(f"--as-of {_shown(str(value))}: expected a date as YYYY-MM-DD (year, month, day)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OverrideError(f"--as-of {value!r}: expected a date as YYYY-MM-DD (year, month, day); "
                            "this day is not in the calendar") from None


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
        dependents = node.get("dependents") if isinstance(node, dict) else None  # not yet checked by the schema
        stale = [d for d in dependents if isinstance(d, str) and d not in overrides] if isinstance(dependents, list) \
            else []
        if stale:
            raise OverrideError(f"--set {address}: {', '.join(stale)} {'is' if len(stale) == 1 else 'are'} derived "
                                "from this value; set them too (or change them instead)")


def apply_override(docs: dict[str, Any], address: str, value: Any) -> None:
    """Replace the value (or a condition's expression, a value a condition carries, or a table's rows or condition) at
    ``address`` in the raw documents."""
    node = _node_at(docs, address)
    owner_address, _, key = address.rpartition(".")
    owner: Any = _node_at(docs, owner_address) if owner_address else None
    if _is_table(node):
        node["rows"] = value
    elif _is_table(owner) and key == "applies_when":
        owner["applies_when"] = _expression(address, value)
    elif is_rule(owner) and key in owner and key not in RULE_KEYS:  # a value a rule carries (a credit's percent)
        owner[key] = value
    elif is_param(node):
        node["value"] = value
        node.pop("amendments", None)
    elif is_rule(node):
        node["formula" if "formula" in node else "when"] = _expression(address, value)
    else:
        raise OverrideError(f"--set {address}: no rulebook value has this address")


def _is_table(node: Any) -> bool:
    return isinstance(node, dict) and "rows" in node and "id" in node


def _expression(address: str, value: Any) -> str:
    """A condition's or formula's new expression, as text (a number or true/false is its own expression)."""
    if isinstance(value, dict | list) or value is None:
        raise OverrideError(f"--set {address}: a condition or formula is replaced by its expression (text, e.g. "
                            f"--set {address}=False), not by {value!r:.60}")
    return str(value)
