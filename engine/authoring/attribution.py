"""Why one submission's final score differs between two years' rules, in exact arithmetic.

With s the category score (percent), w its weight (percent), B the complex patient bonus and F the final score:

    F_new - F_old = sum over categories of [ (w_new - w_old) x s_old / 100      (weight effect)
                                            + (s_new - s_old) x w_new / 100      (score effect)
                                            + r ]                                (rounding of the contribution)
                    + (B_new - B_old)                                            (bonus)
                    + (X_new - X_old)                                            (cap or neutral score)

where r is the difference between the contributions as the rulebooks round them and the exact products, and X is
F minus the sum of contributions and bonus (the cap at the maximum, or the neutral final score when fewer than two
categories are scored; 0 otherwise). Each part is explained by the trace nodes and rules that differ between the two
years; a quality measure's share of the score effect is given when the quality denominators, improvement and cap
agree (each counted measure's points change x w_new / denominator)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.authoring.rulediff import Change
from engine.base.numbers import decimal
from engine.rules.model import Rulebook
from engine.scoring.trace import plain

DECOMPOSITION = ("final score difference = sum over categories of (weight effect + score effect + rounding) + bonus "
                 "difference + cap or neutral difference; weight effect = (new weight - old weight) x old score / "
                 "100; score effect = (new score - old score) x new weight / 100")
_OWN = ("percent", "weight", "contribution", "reweighted")


class _Year:
    """One year's result, its trace nodes by id and its rulebook."""

    def __init__(self, document: dict[str, Any], book: Rulebook):
        self.doc, self.book = document, book
        self.nodes = {n["id"]: n for n in document["trace"]}
        self.year = book.year

    def number(self, node_id: str) -> Decimal:
        node = self.nodes.get(node_id)
        return decimal(node["value"]) if node and node["value"] is not None else Decimal(0)

    def references(self) -> tuple[dict[str, dict], ...]:
        """CMS's measures and activities of the year, by id."""
        ref = self.book.reference
        return ref.quality, ref.ia, ref.pi, ref.cost

    def rule(self, address: str) -> dict[str, Any] | None:
        item = self.book.params.get(address) or self.book.rules.get(address)
        if item is None:
            return None
        return {"year": self.year, "address": address, "file": item.file, "line": item.line,
                "cite": [self.book.sources[c]["title"] for c in item.cite]}


class _Pair:
    """Two consecutive years and the rulebook changes between them."""

    def __init__(self, old: _Year, new: _Year, changes: list[Change]):
        self.old, self.new = old, new
        self.changes = changes
        self.measure_ids = {key for year in (old, new) for records in year.references() for key in records}

    def changed(self, addresses: set[str]) -> list[dict[str, Any]]:
        """The rulebook changes at these addresses (a table's rows and a mapping's keys by their base address)."""
        return [c.as_dict() for c in self.changes if c.address.split("[")[0] in addresses]

    def cause(self, node_id: str, what: str, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        """A trace node in both years: values, reason codes, the rules each year cites and those that differ."""
        a, b = self.old.nodes.get(node_id), self.new.nodes.get(node_id)
        rules: list[dict[str, Any]] = []
        for year, node in ((self.old, a), (self.new, b)):
            for address in dict.fromkeys([*(node["rules"] if node else []), *extra]):
                described = year.rule(address)
                if described:
                    rules.append(described)
        changed = [c for c in self.changed(set(extra) | {r for n in (a, b) if n for r in n["rules"]})
                   if self.concerns(c["address"], node_id)]
        found = {"node": node_id, "what": what, "old": a and a["value"], "new": b and b["value"],
                 "old_reason": a and a["reason"], "new_reason": b and b["reason"], "amount": None, "rules": rules,
                 "changed_rules": changed}
        if any(n and "deciles" in n["inputs"] for n in (a, b)):
            found["benchmark"] = {k: n and {f: n["inputs"].get(f) for f in ("benchmark_year", "deciles", "rate")}
                                  for k, n in (("old", a), ("new", b))}
        if node_id.endswith((".reweighted", ".score")) or node_id.startswith("bonuses."):
            found["inputs"] = {"old": a and a["inputs"], "new": b and b["inputs"]}
            found["titles"] = self.titles(found["inputs"])
        return found

    def concerns(self, address: str, node_id: str) -> bool:
        """Whether a change keyed by a measure (``pi.measures[PI_EP_1]``, ``suppressed.measures[113/method]``) is
        about this node's measure; changes not keyed by a measure always are."""
        key = address.partition("[")[2].rstrip("]")
        measure = key.split("/")[0]
        parts = node_id.split(".")
        if not measure or measure not in self.measure_ids:
            return True
        return len(parts) >= 3 and parts[2] == measure and ("/" not in key or len(parts) < 4 or key == f"{measure}/{parts[3]}")

    def titles(self, inputs: Any) -> dict[str, str]:
        """CMS's titles of the measures a node's inputs name (e.g. the required attestation that is missing)."""
        names = [v for side in inputs.values() if side for value in side.values()
                 for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        found = {}
        for name in names:
            for year in (self.new, self.old):
                record = next((r[name] for r in year.references() if name in r), None)
                if record and record.get("title"):
                    found[name] = record["title"]
                    break
        return found

    def differs(self, node_id: str) -> bool:
        a, b = self.old.nodes.get(node_id), self.new.nodes.get(node_id)
        return not (a and b and a["value"] == b["value"] and a["reason"] == b["reason"])

    def title(self, name: str) -> str:
        titles = dict.fromkeys(str(y.doc["categories"][name]["title"]) for y in (self.old, self.new)
                               if name in y.doc["categories"])
        return " / ".join(titles) or name


def _weight_causes(pair: _Pair, name: str) -> list[dict[str, Any]]:
    """The weights row each year used, the default weight, and every category whose reweighting changed."""
    tables = {y.doc["reweighting"]["table"] for y in (pair.old, pair.new)}
    row = pair.cause(f"{name}.weight", f"{pair.title(name)} weight: the reweighting row used", tuple(sorted(tables)))
    row["old_reason"], row["new_reason"] = (_scored(y, name)[1] for y in (pair.old, pair.new))
    row["changed_rules"] = [c for c in row["changed_rules"] if _row_used(c, pair, name)] + [
        c for c in pair.changed({"weights.default_weights"}) if c["address"].endswith(f"[{name}]")]
    causes = [row]
    for other in pair.new.doc["categories"]:
        node = f"{other}.reweighted"
        if other in pair.old.doc["categories"] and pair.differs(node):
            causes.append(pair.cause(node, f"{pair.title(other)} reweighted (not scored)"))
    return causes


def _scored(year: _Year, name: str) -> tuple[list[str], str | None]:
    """The categories scored and the reweighting row a year's weight node names."""
    inputs = year.nodes.get(f"{name}.weight", {}).get("inputs", {})
    return inputs.get("scored", []), inputs.get("row")


def _row_used(change: dict[str, Any], pair: _Pair, name: str) -> bool:
    """A table row change that is a row one of the two years used."""
    used = {"+".join(sorted(_scored(y, name)[0])) or "none" for y in (pair.old, pair.new)}
    return "[scored=" not in change["address"] or change["address"].split("[scored=")[1].rstrip("]") in used


def _quality_shares(pair: _Pair, causes: list[dict[str, Any]]) -> Decimal | None:
    """Each counted quality measure's and bonus's share of the score effect, when the two years' quality scores
    are the same function of their points: equal denominators and improvement, no cap, scored from measures."""
    a, b = (y.nodes.get("quality.score") for y in (pair.old, pair.new))
    if not (a and b and a["reason"] == b["reason"] == "measures"):
        return None
    same = ("denominator", "improvement")
    if any(a["inputs"].get(k) != b["inputs"].get(k) for k in same) or any(
            n["inputs"].get("from_measures") != n["value"] for n in (a, b)):
        return None
    scale = decimal(pair.new.doc["categories"]["quality"]["weight"]) / decimal(a["inputs"]["denominator"])
    counted = {y.year: set(y.nodes["quality.achievement"]["inputs"].get("counted", [])) for y in (pair.old, pair.new)}
    shared = Decimal(0)
    for cause in causes:
        parts = cause["node"].split(".")
        if parts[:2] == ["quality", "bonus"]:
            delta = decimal(cause["new"] or 0) - decimal(cause["old"] or 0)
        elif parts[:2] == ["quality", "measures"]:
            delta = sum((decimal(v or 0) * (parts[2] in counted[y.year]) * sign
                         for v, y, sign in ((cause["new"], pair.new, 1), (cause["old"], pair.old, -1))), Decimal(0))
        else:
            continue
        cause["amount"] = (delta * scale).quantize(Decimal("0.000001"))
        shared += cause["amount"]
    return shared


def _score_causes(pair: _Pair, name: str, effect: Decimal) -> list[dict[str, Any]]:
    """The category's own nodes (its measures, bonuses, denominator, and its score when the reason for it changed)
    whose value or reason differs; with quality's shares, the rounding of the score takes the remainder."""
    ids = [i for y in (pair.new, pair.old) for i in y.nodes if i.startswith(f"{name}.") and i.split(".")[1] not in _OWN]
    causes = [pair.cause(i, _label(i)) for i in dict.fromkeys(ids) if pair.differs(i)]
    score = next((c for c in causes if c["node"] == f"{name}.score" and c["old_reason"] != c["new_reason"]), None)
    causes = [c for c in causes if c is score or c["node"] not in (f"{name}.score", f"{name}.achievement")]
    shared = _quality_shares(pair, causes) if name == "quality" else None
    if shared is not None and shared != effect:
        causes.append({"node": None, "what": f"rounding of the {name} score to the rulebook's precision", "old": None,
                       "new": None, "old_reason": None, "new_reason": None, "amount": effect - shared, "rules": [],
                       "changed_rules": []})

    def size(cause: dict[str, Any]) -> Decimal:
        if cause["amount"] is not None:
            return abs(decimal(cause["amount"]))
        values = [decimal(v) for v in (cause["old"], cause["new"]) if isinstance(v, int | float)]
        return abs(values[1] - values[0]) if len(values) == 2 else max(values, default=Decimal(0))

    return ([score] if score else []) + sorted((c for c in causes if c is not score), key=size, reverse=True)


def _label(node_id: str) -> str:
    parts = node_id.split(".")
    if len(parts) >= 3 and parts[1] in ("measures", "activities"):
        return f"{parts[0]} {parts[1].rstrip('s').replace('activitie', 'activity')} {parts[2]}" + (
            f" ({parts[3]})" if len(parts) > 3 else "")
    return node_id.replace("_", " ")


def _part(kind: str, amount: Decimal, what: str, old: Any, new: Any, causes: list[dict[str, Any]],
          category: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "category": category, "what": what, "amount": amount, "old": old, "new": new,
            "causes": causes}


def _category_parts(pair: _Pair, name: str) -> list[dict[str, Any]]:
    (s_old, w_old, c_old), (s_new, w_new, c_new) = (
        (y.number(f"{name}.percent"), y.number(f"{name}.weight"), y.number(f"{name}.contribution"))
        for y in (pair.old, pair.new))
    weight, score = (w_new - w_old) * s_old / 100, (s_new - s_old) * w_new / 100
    title = pair.title(name)
    return [
        _part("weight", weight, f"{title}: weight effect", w_old, w_new, _weight_causes(pair, name) if weight else [],
              name),
        _part("score", score, f"{title}: score effect", s_old, s_new, _score_causes(pair, name, score) if score else [],
              name),
        _part("rounding", c_new - c_old - weight - score, f"{title}: rounding of its contribution to the rulebook's "
              "precision", c_old, c_new, [], name),
    ]


def attribute(old_doc: dict[str, Any], new_doc: dict[str, Any], old_book: Rulebook, new_book: Rulebook,
              changes: list[Change]) -> dict[str, Any]:
    """The difference in final score from ``old_doc`` to ``new_doc`` split into parts that add up to it exactly,
    largest first, each with the trace nodes and rules behind it; and the payment adjustment's causes."""
    pair = _Pair(_Year(old_doc, old_book), _Year(new_doc, new_book), changes)
    names = list(dict.fromkeys([*new_doc["categories"], *old_doc["categories"]]))
    parts = [p for name in names for p in _category_parts(pair, name)]
    bonus = pair.new.number("bonuses.complex_patient") - pair.old.number("bonuses.complex_patient")
    parts.append(_part("bonus", bonus, "complex patient bonus", old_doc["complex_patient_bonus"],
                       new_doc["complex_patient_bonus"], [pair.cause("bonuses.complex_patient", "complex patient bonus")]
                       if bonus else []))
    rest = [y.number("final_score") - sum((y.number(f"{n}.contribution") for n in names), Decimal(0))
            - y.number("bonuses.complex_patient") for y in (pair.old, pair.new)]
    reasons = [y.nodes["final_score"]["reason"] for y in (pair.old, pair.new)]
    extra = ("payment.performance_threshold",) if "neutral" in reasons else ()
    parts.append(_part("final", rest[1] - rest[0], "cap at the maximum or neutral final score", reasons[0],
                       reasons[1], [pair.cause("final_score", "final score", extra)] if rest[1] != rest[0] else []))
    total = pair.new.number("final_score") - pair.old.number("final_score")
    if sum((p["amount"] for p in parts), Decimal(0)) != total:
        raise ArithmeticError(f"the parts of the final score difference do not add up to {total}")  # a bug, never data
    kept = sorted((p for p in parts if p["amount"]), key=lambda p: abs(p["amount"]), reverse=True)
    return plain({"from": old_book.year, "to": new_book.year, "decomposition": DECOMPOSITION,
                  "final_score": {"old": old_doc["final_score"], "new": new_doc["final_score"], "difference": total},
                  "parts": kept, "payment": _payment(pair)})


def _payment(pair: _Pair) -> dict[str, Any]:
    """The adjustment before scaling in both years, and the payment rules that differ."""
    ids = [i for i in pair.new.nodes if i.startswith("payment.")]
    addresses = {r for y in (pair.old, pair.new) for i in ids if i in y.nodes for r in y.nodes[i]["rules"]}
    return {"old": {k: pair.old.doc["payment"][k] for k in ("band", "adjustment_before_scaling")},
            "new": {k: pair.new.doc["payment"][k] for k in ("band", "adjustment_before_scaling")},
            "final_score": {"old": pair.old.doc["final_score"], "new": pair.new.doc["final_score"]},
            "changed_rules": pair.changed(addresses)}
