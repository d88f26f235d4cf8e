"""One submission under several years' rules, side by side, with the rules that differ."""

from __future__ import annotations

from typing import Any

from engine.authoring.attribution import attribute
from engine.authoring.crosswalk import retarget
from engine.authoring.rulediff import diff_rulebooks
from engine.base.errors import MipsError, RulebookErrors
from engine.inputs.submission import Submission
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook
from engine.scoring.pipeline import score_submission
from engine.scoring.trace import plain


def compare(submission: Submission, years: list[str], profile: dict[str, Any],
            overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``submission`` under each year; explain each difference from the previous year's result and attribute
    the difference in final score to its parts (``engine.authoring.attribution``)."""
    overrides = overrides or {}
    columns: list[dict[str, Any]] = []
    books: dict[str, Rulebook] = {}
    documents: dict[str, dict[str, Any]] = {}
    unused = set(overrides)
    for year in years:
        try:
            book = load_rulebook(year)
            applied = {a: v for a, v in overrides.items() if a in book.params or a in book.rules}
            if applied:  # a what-if applies to each year whose rulebook has the address
                book = load_rulebook(year, applied)
            unused -= set(applied)
        except RulebookErrors as exc:
            columns.append({"year": year, "error": str(exc)})
            continue
        books[year] = book
        moved, notes = retarget(submission, book)
        try:
            result = score_submission(book, moved, profile)
        except MipsError as exc:
            columns.append({"year": book.year, "error": str(exc)})
            continue
        d = documents[str(book.year)] = result.document
        columns.append({
            "year": book.year, "payment_year": d["rulebook"]["payment_year"], "final_score": d["final_score"],
            "neutral": d["neutral"], "reweighting_row": d["reweighting"]["row"], "table": d["reweighting"]["table"],
            "categories": {k: {"title": v["title"], "percent": v["percent"], "weight": v["weight"],
                               "points": v["points"], "reweighted": v["reweighted"]} for k, v in d["categories"].items()},
            "complex_patient_bonus": d["complex_patient_bonus"],
            "payment": {k: d["payment"][k] for k in ("band", "adjustment_before_scaling", "exceptional_before_scaling")},
            "carried_over": [n.as_dict() for n in notes],
            "not_carried_over": [i for i in d["issues"] if i not in [n.as_dict() for n in notes]],
            "rules_used": sorted(d["rules"]), "overrides": applied,
            "measures": _measures(d),
        })
    if unused:
        raise MipsError(f"--set {', '.join(sorted(unused))}: no compared year's rulebook has this address")
    _explain_differences(columns, books, documents)
    return plain({"submission": submission.entity(), "sources": submission.sources, "years": columns})


def _measures(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each quality measure's points with the benchmark it was scored against (from the trace)."""
    nodes = {n["id"]: n for n in document["trace"]}
    found = {}
    for m in document["categories"]["quality"]["detail"].get("measures", []):
        key = f"{m['measure_id']}/{m['method']}"
        inputs = nodes.get(f"quality.measures.{m['measure_id']}.{m['method']}", {}).get("inputs", {})
        found[key] = {"points": m["points"], "status": m["status"], "reason": m["reason"],
                      "benchmark_year": inputs.get("benchmark_year"), "deciles": inputs.get("deciles")}
    return found


def _row_used(column: dict[str, Any]) -> dict[str, Any]:
    return {"table": column["table"], "row": column["reweighting_row"],
            "weights": {k: c["weight"] for k, c in column["categories"].items()}}


def _explain_differences(columns: list[dict[str, Any]], books: dict[str, Rulebook],
                          documents: dict[str, dict[str, Any]]) -> None:
    """For each year after the first: the reweighting row used when its weights differ, the rules both
    years used whose values differ (tables aside), the quality measures scored differently, and the attribution
    of the difference in final score."""
    scored = [c for c in columns if "error" not in c]
    by_year = {str(b.year): b for b in books.values()}
    for previous, current in zip(scored, scored[1:], strict=False):
        old, new = by_year[str(previous["year"])], by_year[str(current["year"])]
        used = (set(previous["rules_used"]) | set(current["rules_used"])) - {previous["table"], current["table"]}
        differences: list[dict[str, Any]] = []
        before, after = _row_used(previous), _row_used(current)
        if before["weights"] != after["weights"]:
            differences.append({"address": "weights (row used)", "kind": "changed", "old": before, "new": after,
                                "old_source": _table_source(old, previous["table"]),
                                "new_source": _table_source(new, current["table"])})
        changes = diff_rulebooks(old, new)
        differences += [c.as_dict() for c in changes
                        if c.address.split("[")[0] in used or c.address.endswith(".mechanism")]
        for key in sorted(set(previous["measures"]) | set(current["measures"])):
            a, b = previous["measures"].get(key), current["measures"].get(key)
            if a and b and a["points"] == b["points"]:
                continue
            differences.append({"address": f"quality measure {key}", "kind": "changed" if a and b else
                                ("added" if b else "removed"), "old": a and a["points"], "new": b and b["points"],
                                "old_source": _benchmark_source(old, a), "new_source": _benchmark_source(new, b)})
        current["differences_from"] = previous["year"]
        current["differences"] = differences
        current["attribution"] = attribute(documents[str(previous["year"])], documents[str(current["year"])], old, new,
                                           changes)


def _table_source(book: Rulebook, address: str) -> dict[str, Any]:
    param = book.param(address)
    return {"file": param.file, "line": param.line, "cite": [book.sources[c]["title"] for c in param.cite],
            "unverified": param.unverified}


def _benchmark_source(book: Rulebook, measure: dict[str, Any] | None) -> dict[str, Any] | None:
    if not measure:
        return None
    version = book.reference.source.get("version")
    where = (f"benchmark year {measure['benchmark_year']}, deciles {measure['deciles']}"
             if measure["deciles"] else str(measure["reason"]).replace("_", " "))
    return {"file": f"{book.display_path}/reference/cms-measures.json", "line": None,
            "cite": [f"CMS qpp-measures-data {version}: {where}"], "unverified": None}
