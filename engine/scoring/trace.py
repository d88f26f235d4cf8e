"""The trace: every computed number with the rules it read, its inputs and a reason code saying why (the feedback
templates in reports/ turn the code and the inputs into words)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.rules.model import Param, Rulebook


@dataclass
class Node:
    """One computed value. ``id`` is its address in the result tree (e.g. ``quality.measures.236``)."""

    id: str
    value: Any
    rules: list[str]
    inputs: dict[str, Any]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "value": plain(self.value), "rules": self.rules,
                "inputs": plain(self.inputs), "reason": self.reason}


@dataclass
class Trace:
    """All nodes of one scoring run, and the rulebook they cite."""

    book: Rulebook
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(self, node_id: str, value: Any, rules: list[str], inputs: dict[str, Any] | None = None,
            reason: str = "") -> Any:
        for address in rules:
            if address not in self.book.params and address not in self.book.rules:
                raise KeyError(f"trace node {node_id} cites unknown rule {address}")
        if node_id in self.nodes:
            raise ValueError(f"trace node {node_id} is written twice; a node records one value")
        read = list(rules)
        for address in rules:  # a rule reads the values of its file it names, so the node cites them too
            if address in self.book.rules:
                stem = address.split(".")[0]
                read += [f"{stem}.{name}" for name in sorted(self.book.rules[address].expression.constants)
                         if f"{stem}.{name}" not in read]
        self.nodes[node_id] = Node(node_id, value, read, inputs or {}, reason)
        return value

    def rules_used(self) -> dict[str, dict[str, Any]]:
        """File, line, citations and flags of every rule the nodes read."""
        used: dict[str, dict[str, Any]] = {}
        for node in self.nodes.values():
            for address in node.rules:
                item = self.book.params.get(address) or self.book.rules[address]
                used[address] = {
                    "file": item.file, "line": item.line,
                    "cite": [self.book.sources[c]["title"] for c in item.cite],
                    "unverified": item.unverified, "note": item.note,
                    "amended": item.amended.isoformat() if isinstance(item, Param) and item.amended else None,
                }
        return dict(sorted(used.items()))


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
