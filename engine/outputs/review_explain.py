"""What lies behind the first figure where CMS and the engine part: the trace node's reason and inputs, the
submission's JSON paths and the profile's facts it read, the rules (file:line and sources), the benchmark of a
quality measure, and the targeted-review grounds of the year (``review.yaml``) that point to it."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from engine.rules.model import Param, Rulebook
from engine.scoring.trace import plain

if TYPE_CHECKING:
    from engine.outputs.review import Comparison, Row

GROUNDS = "review.grounds."
_REWEIGHTING = (".weight", ".contribution")


def grounds(book: Rulebook) -> list[dict[str, Any]]:
    """The year's targeted-review grounds with their sources, in file order."""
    found = []
    for address, param in book.params.items():
        if address.startswith(GROUNDS):
            value = plain(dict(param.value))
            found.append({"id": address.removeprefix(GROUNDS), **value, **_source(book, param)})
    return found


def grounds_for(book: Rulebook, node_id: str) -> list[dict[str, Any]]:
    """The grounds whose ``points_to`` matches ``node_id``."""
    return [g for g in grounds(book) if any(fnmatchcase(node_id, p) for p in g["points_to"])]


def _source(book: Rulebook, item: Any) -> dict[str, Any]:
    return {"file": item.file, "line": item.line, "cite": [book.sources[c]["title"] for c in item.cite],
            "unverified": item.unverified, "note": item.note}


def _rule(book: Rulebook, address: str) -> dict[str, Any]:
    """A rule or value by address: where it is written, its sources, and a condition's or formula's text."""
    item = book.params.get(address) or book.rules[address]
    described = {"address": address, **_source(book, item)}
    if not isinstance(item, Param):
        described["expression"] = item.expression.text
    return described


def _disputed(sheet: Comparison, category: str) -> list[str]:
    """Categories CMS weighted otherwise than the engine scored them (weight 0 = reweighted), else ``category``."""
    found = []
    for name, part in sheet.figures.categories.items():
        own = sheet.categories[name]
        node = sheet.nodes.get(f"{own}.reweighted")
        if part.weight is not None and node is not None and (part.weight.value == 0) != bool(node["value"]):
            found.append(own)
    return found or [category]


def _rules(sheet: Comparison, row: Row) -> list[str]:
    node = sheet.nodes.get(row.id)
    addresses = list(node["rules"]) if node else []
    if row.id.endswith(_REWEIGHTING):
        for category in _disputed(sheet, row.id.split(".")[0]):
            reweighted = sheet.nodes.get(f"{category}.reweighted")
            addresses += reweighted["rules"] if reweighted else []
        for address in list(addresses):
            if f"{address}.applies_when" in sheet.book.rules:  # which table applies is a rule too
                addresses.append(f"{address}.applies_when")
    return list(dict.fromkeys(a for a in addresses if a in sheet.book.params or a in sheet.book.rules))


def _header(sheet: Comparison, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Entity fields of the submission, at the path its measurement sets sit under."""
    sets = sheet.submission.sets
    prefix = sets[0].path.split(".measurementSets")[0] if sets else "$"
    source = sets[0].source if sets else sheet.submission.sources[0]
    return [{"file": source, "path": f"{prefix}.{name}", "what": f"{name} {getattr(sheet.submission, key)}"}
            for key, name in (("tin", "taxpayerIdentificationNumber"), ("npi", "nationalProviderIdentifier"),
                              ("entity_id", "entityId")) if key in fields and getattr(sheet.submission, key)]


def _category_of(sheet: Comparison, raw: str) -> str:
    return str(sheet.book.value("program.submission_categories").get(raw, raw))


def _submission_paths(sheet: Comparison, row: Row) -> list[dict[str, str]]:
    """The parts of the submission the figure was computed from, by JSON path."""
    parts = row.id.split(".")
    if parts[0] in ("entity", "final_score"):
        return _header(sheet, (parts[1],) if parts[0] == "entity" else ("tin", "npi", "entity_id"))
    found = []
    categories = _disputed(sheet, parts[0]) if row.id.endswith(_REWEIGHTING) else [parts[0]]
    for measurement_set in sheet.submission.sets:
        if _category_of(sheet, measurement_set.category) not in categories:
            continue
        if len(parts) >= 3:  # one measure or activity
            method = parts[3] if len(parts) == 4 else measurement_set.method
            found += [{"file": measurement_set.source, "path": m.path, "what": f"measurement {m.measure_id}"}
                      for m in measurement_set.measurements if m.measure_id == parts[2] and method == measurement_set.method]
        else:
            found.append({"file": measurement_set.source, "path": measurement_set.path,
                          "what": f"measurement set {measurement_set.category} ({measurement_set.method})"})
    return found


def _facts(sheet: Comparison, row: Row) -> list[dict[str, Any]]:
    """Profile facts and submission facts a reweighting decision (or the bonus) read, by category."""
    if row.id == "bonuses.complex_patient":
        node = sheet.nodes.get(row.id)
        return [{"decision": row.id, "value": node["value"], "inputs": node["inputs"]}] if node else []
    if not row.id.endswith(_REWEIGHTING):
        return []
    found = []
    for category in _disputed(sheet, row.id.split(".")[0]):
        node = sheet.nodes.get(f"{category}.reweighted")
        if node:
            found.append({"decision": node["id"], "value": node["value"], "inputs": node["inputs"]})
    return found


def _benchmark(sheet: Comparison, row: Row) -> dict[str, Any] | None:
    """A quality measure's benchmark as its trace node read it: deciles, the decile reached and its bounds."""
    node = sheet.nodes.get(row.id)
    inputs = node["inputs"] if node else {}
    if "deciles" not in inputs:
        return None
    reference = sheet.book.reference.describe()
    return {"benchmark_year": inputs.get("benchmark_year"), "deciles": inputs["deciles"], "rate": inputs.get("rate"),
            "decile": inputs.get("decile"), "lower": inputs.get("decile_lower_bound"),
            "upper": inputs.get("decile_upper_bound"), "inverse": inputs.get("inverse"),
            "file": f"{sheet.book.display_path}/reference/cms-measures.json",
            "data": f"{reference['repository']} {reference['version']}"}


def explain_difference(sheet: Comparison, row: Row) -> dict[str, Any]:
    """Everything the worksheet says about the first figure where CMS and the engine part."""
    node = sheet.nodes.get(row.id) or {}
    return {
        **row.as_dict(),
        "reason": node.get("reason"),
        "node_inputs": node.get("inputs", {}),
        "rules": [_rule(sheet.book, a) for a in _rules(sheet, row)],
        "submission_paths": _submission_paths(sheet, row),
        "facts": _facts(sheet, row),
        "profile": sheet.profile_source,
        "benchmark": _benchmark(sheet, row),
        "grounds": grounds_for(sheet.book, row.id),
    }
