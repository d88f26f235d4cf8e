"""The trace: every computed number with the rules it read, its inputs and a reason code saying why (the feedback
templates in reports/ turn the code and the inputs into words).

Node values and inputs are JSON numbers, strings, booleans, lists and string-keyed dicts as the builders write
them, so a node becomes part of the result document without conversion."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.rules.model import Param, Rulebook


class Node:
    """One computed value. ``id`` is its address in the result tree (e.g. ``quality.measures.236``)."""

    __slots__ = ("id", "value", "rules", "inputs", "reason")

    def __init__(self, node_id: str, value: Any, rules: tuple[str, ...], inputs: dict[str, Any], reason: str):
        self.id, self.value, self.rules, self.inputs, self.reason = node_id, value, rules, inputs, reason

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "value": self.value, "rules": list(self.rules), "inputs": self.inputs,
                "reason": self.reason}


def _cited(book: Rulebook, rules: tuple[str, ...]) -> tuple[str, ...]:
    """The addresses a node citing ``rules`` read: each rule, and the values of its file a rule's expression names."""
    read = list(rules)
    for address in rules:
        if address not in book.params and address not in book.rules:
            raise KeyError(f"a trace node cites unknown rule {address}")
        if address in book.rules:
            stem = address.split(".")[0]
            read += [f"{stem}.{name}" for name in sorted(book.rules[address].expression.constants)
                     if f"{stem}.{name}" not in read]
    return tuple(read)


def _described(book: Rulebook, address: str) -> dict[str, Any]:
    item = book.params.get(address) or book.rules[address]
    return {"file": item.file, "line": item.line, "cite": [book.sources[c]["title"] for c in item.cite],
            "unverified": item.unverified, "note": item.note,
            "amended": item.amended.isoformat() if isinstance(item, Param) and item.amended else None}


class Trace:
    """All nodes of one scoring run, and the rulebook they cite (what each citation expands to is kept with the
    rulebook, worked out once)."""

    __slots__ = ("book", "nodes", "_cites", "_described")

    def __init__(self, book: Rulebook):
        self.book = book
        self.nodes: dict[str, Node] = {}
        self._cites: dict[tuple[str, ...], tuple[str, ...]] = book.memo.setdefault("trace.cites", {})
        self._described: dict[str, dict[str, Any]] = book.memo.setdefault("trace.described", {})

    def add(self, node_id: str, value: Any, rules: list[str], inputs: dict[str, Any] | None = None,
            reason: str = "") -> Any:
        key = tuple(rules)
        read = self._cites.get(key)
        if read is None:
            read = self._cites[key] = _cited(self.book, key)
        if node_id in self.nodes:
            raise ValueError(f"trace node {node_id} is written twice; a node records one value")
        self.nodes[node_id] = Node(node_id, value, read, inputs or {}, reason)
        return value

    def rules_used(self) -> dict[str, dict[str, Any]]:
        """File, line, citations and flags of every rule the nodes read."""
        addresses = sorted({a for node in self.nodes.values() for a in node.rules})
        described = self._described
        for address in addresses:
            if address not in described:
                described[address] = _described(self.book, address)
        return {a: {**described[a], "cite": list(described[a]["cite"])} for a in addresses}


def plain(value: Any) -> Any:
    """Decimals become JSON numbers (ints when whole); containers are converted recursively."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 10**15:
            return int(value)
        return float(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value
