"""One submission under several years' rules, side by side, with the rules that differ."""

from __future__ import annotations

from typing import Any

from .crosswalk import retarget
from .errors import MipsError, RulebookErrors
from .rulebook import Rulebook, load_rulebook
from .rulediff import diff_rulebooks
from .scoring import score_submission
from .submission import Submission
from .trace import plain


def compare(submission: Submission, years: list[str], profile: dict[str, Any],
            overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score ``submission`` under each year; explain each difference from the previous year's result."""
    overrides = overrides or {}
    columns: list[dict[str, Any]] = []
    books: dict[str, Rulebook] = {}
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
        d = result.document
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
        })
    if unused:
        raise MipsError(f"--set {', '.join(sorted(unused))}: no compared year's rulebook has this address")
    _explain_differences(columns, books)
    return plain({"submission": submission.entity(), "sources": submission.sources, "years": columns})


def _explain_differences(columns: list[dict[str, Any]], books: dict[str, Rulebook]) -> None:
    """For each year after the first, the rules it used whose values differ from the year before."""
    scored = [c for c in columns if "error" not in c]
    by_year = {str(b.year): b for b in books.values()}
    for previous, current in zip(scored, scored[1:], strict=False):
        old, new = by_year[str(previous["year"])], by_year[str(current["year"])]
        used = set(previous["rules_used"]) | set(current["rules_used"])
        current["differences_from"] = previous["year"]
        current["differences"] = [
            c.as_dict() for c in diff_rulebooks(old, new)
            if c.address.split("[")[0] in used or c.address.endswith(".mechanism")
        ]
