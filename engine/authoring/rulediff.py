"""What changed between two rulebooks: every value by address, with old and new citations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.rules.model import Param, Rule, Rulebook
from engine.scoring.trace import plain


@dataclass(frozen=True)
class Change:
    address: str
    kind: str  # changed | added | removed
    old: Any
    new: Any
    old_source: dict[str, Any] | None
    new_source: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "kind": self.kind, "old": plain(self.old), "new": plain(self.new),
                "old_source": self.old_source, "new_source": self.new_source}


def _source(book: Rulebook, item: Param | Rule) -> dict[str, Any]:
    return {"file": item.file, "line": item.line, "cite": [book.sources[c]["title"] for c in item.cite],
            "unverified": item.unverified}


def _row_key(row: Any) -> str | None:
    """Rows of a list get a stable key when they have one (table rows by scored set, measures by id)."""
    if isinstance(row, dict):
        if "scored" in row:
            return "scored=" + "+".join(sorted(row["scored"])) if row["scored"] else "scored=none"
        if "measure" in row:
            return f"{row['measure']}/{row.get('method', '')}"
        if "id" in row:
            return str(row["id"])
    return None


def _values(book: Rulebook) -> dict[str, tuple[Any, Param | Rule | None]]:
    """Every value at its finest address: mappings and keyed lists are opened one level."""
    flat: dict[str, tuple[Any, Param | Rule | None]] = {}
    for address, param in book.params.items():
        value = param.value
        if isinstance(value, dict) and value:
            for key, item in value.items():
                flat[f"{address}[{key}]"] = (item, param)
        elif isinstance(value, list | tuple) and value and all(_row_key(r) for r in value):
            for row in value:
                flat[f"{address}[{_row_key(row)}]"] = (row, param)
        else:
            flat[address] = (value, param)
    for address, rule in book.rules.items():
        flat[address] = (rule.expression.text, rule)
    for stem, mechanism in book.mechanisms.items():
        flat[f"{stem}.mechanism"] = (mechanism, None)
    return flat


def diff_rulebooks(old: Rulebook, new: Rulebook) -> list[Change]:
    """Changes from ``old`` to ``new`` (what a new year or a reform edits), ordered by address."""
    before, after = _values(old), _values(new)
    changes = []
    for address in sorted(set(before) | set(after)):
        if address.endswith(".performance_year") or address.endswith(".payment_year"):
            continue
        a, b = before.get(address), after.get(address)
        if a and b and plain(a[0]) == plain(b[0]):
            continue
        kind = "changed" if a and b else ("added" if b else "removed")
        changes.append(Change(address, kind, a[0] if a else None, b[0] if b else None,
                              _source(old, a[1]) if a and a[1] else None,
                              _source(new, b[1]) if b and b[1] else None))
    return changes


def reference_summary(old: Rulebook, new: Rulebook) -> dict[str, Any]:
    """How the CMS reference data differ: release and counts of measures, activities, benchmarks."""
    def counts(book: Rulebook) -> dict[str, int]:
        ref = book.reference
        return {"quality": len(ref.quality), "ia": len(ref.ia), "pi": len(ref.pi), "cost": len(ref.cost),
                "benchmarks": len(ref.benchmarks)}
    return {"old": {"version": old.reference.source.get("version"), **counts(old)},
            "new": {"version": new.reference.source.get("version"), **counts(new)}}
