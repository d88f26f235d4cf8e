"""`mips compare` as a report (``reports/compare.j2``): the years side by side, each difference in final score from
one year to the next split into its parts, largest first, each with the trace nodes and rules behind it, then every
rule used whose value differs, in words."""

from __future__ import annotations

from typing import Any

from engine.outputs import formatting
from engine.outputs.reporting import readable as describe
from engine.outputs.reporting import render

ARROW = "→"


MOST_CAUSES = 6  # trace nodes listed under one part; the JSON output has them all


def _place(source: dict[str, Any]) -> str:
    return f"{source['file']}" + (f":{source['line']}" if source.get("line") else "")


def _source(year: Any, source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    cited = f" ({'; '.join(map(str, source['cite']))})" if source.get("cite") else ""
    return f"{year}: {_place(source)}{cited}"


def change_text(change: dict[str, Any], old: Any, new: Any) -> dict[str, Any]:
    """One rule that differs between two years, as a sentence and its sources."""
    a, b = change["old"], change["new"]
    if change["kind"] == "added":
        text = f"{change['address']}: new in {new}: {describe(b)}"
    elif change["kind"] == "removed":
        text = f"{change['address']}: not in the {new} rules (was {describe(a)})"
    elif isinstance(a, list) and isinstance(b, list):
        added, removed = [v for v in b if v not in a], [v for v in a if v not in b]
        text = f"{change['address']}: " + "; ".join(
            part for part in (f"adds {describe(added)}" if added else "", f"drops {describe(removed)}" if removed else "")
            if part) if added or removed else f"{change['address']}: {describe(a)} {ARROW} {describe(b)}"
    else:
        text = f"{change['address']}: {describe(a)} {ARROW} {describe(b)}"
    sources = ((old, change["old_source"]), (new, change["new_source"]))
    return {"text": text, "sources": [_source(year, s) for year, s in sources if s],
            "where": [f"{year}: {_place(s)}" for year, s in sources if s]}


def _signed(value: Any, places: int = formatting.PLACES) -> str:
    shown = formatting.number(value, places)
    return shown if shown.startswith("-") or shown == "0" else "+" + shown


def _reason(code: Any) -> str:
    return str(code).replace("_", " ") if code else "none"


def _shown(value: Any) -> str:
    """A trace node's value: ``not scored`` where a year has no such node."""
    return "not scored" if value is None else describe(value)


def _cause_text(cause: dict[str, Any]) -> str:
    """What changed at one trace node, in words: its values, the reasons, the benchmark or the facts it read."""
    if cause["node"] is None:
        return cause["what"]
    old, new = cause["old"], cause["new"]
    text = f"{cause['what']}: {_shown(old)} {ARROW} {_shown(new)}"
    if cause["node"].endswith(".weight"):
        text = f"{cause['what']}: {cause['old_reason']} ({describe(old)} %) {ARROW} {cause['new_reason']} ({describe(new)} %)"
    elif cause["old_reason"] != cause["new_reason"]:
        text += f" ({_reason(cause['old_reason'])} {ARROW} {_reason(cause['new_reason'])})"
    benchmark = cause.get("benchmark")
    if benchmark and all(benchmark[k] and benchmark[k]["deciles"] for k in ("old", "new")) and (
            benchmark["old"]["deciles"] != benchmark["new"]["deciles"]):
        a, b = benchmark["old"], benchmark["new"]
        text += (f"; benchmark {a['benchmark_year']} deciles {describe(a['deciles'])} {ARROW} {b['benchmark_year']} "
                 f"deciles {describe(b['deciles'])}")
    inputs = (cause.get("inputs") or {}).get("new") or {}
    if cause.get("titles") or cause["node"].endswith(".reweighted"):
        titles = cause.get("titles") or {}
        named = {k: f"{v} ({titles[v]})" if isinstance(v, str) and v in titles else v
                 for k, v in inputs.items() if k != "formula"}
        text += f"; the {cause.get('new_year', 'new')} inputs: {describe(named)}" if named else ""
    return text


def _part(part: dict[str, Any], old: Any, new: Any) -> dict[str, Any]:
    places = 8 if part["kind"] == "rounding" else formatting.PLACES
    if part["kind"] in ("weight", "score"):
        unit = " %"
        detail = f"{describe(part['old'])}{unit} {ARROW} {describe(part['new'])}{unit}"
    else:
        detail = f"{describe(part['old'])} {ARROW} {describe(part['new'])}"
    causes = []
    for cause in part["causes"][:MOST_CAUSES]:
        changes = [change_text(c, old, new) for c in cause["changed_rules"]]
        rules = [f"{r['address']} ({r['year']}: {r['file']}:{r['line']})" for r in cause["rules"]]
        causes.append({"text": _cause_text({**cause, "new_year": new}), "changes": changes, "rules": rules,
                       "amount": None if cause["amount"] is None else _signed(cause["amount"], 8 if cause["node"] is None
                                                                               else places)})
    return {"amount": _signed(part["amount"], places), "what": part["what"], "detail": detail, "causes": causes,
            "more": len(part["causes"]) - len(causes)}


def _step(column: dict[str, Any]) -> dict[str, Any]:
    """One year against the year before: the attribution, the payment and every rule that differs."""
    a = column["attribution"]
    old, new = a["from"], a["to"]
    payment = a["payment"]
    return {
        "old": old, "new": new, "decomposition": a["decomposition"],
        "final": {k: formatting.number(v) for k, v in a["final_score"].items()},
        "difference": _signed(a["final_score"]["difference"]),
        "parts": [_part(p, old, new) for p in a["parts"]],
        "payment": {"old": f"{_reason(payment['old']['band'])}, "
                           f"{formatting.signed_percent(payment['old']['adjustment_before_scaling'])}",
                    "new": f"{_reason(payment['new']['band'])}, "
                           f"{formatting.signed_percent(payment['new']['adjustment_before_scaling'])}",
                    "changes": [change_text(c, old, new) for c in payment["changed_rules"]]},
        "rules": [change_text(c, old, new) for c in column.get("differences", [])],
    }


def _table(scored: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name in dict.fromkeys(n for y in scored for n in y["categories"]):
        titles = dict.fromkeys(y["categories"][name]["title"] for y in scored if name in y["categories"])
        row = [" / ".join(titles) or name]
        for y in scored:
            c = y["categories"].get(name)
            row.append("N/A (0 %)" if c is None or c["reweighted"] else
                       f"{formatting.number(c['percent'])} % x {c['weight']} % = {formatting.number(c['points'])}")
        rows.append(row)
    rows.append(["Complex patient bonus", *[formatting.number(y["complex_patient_bonus"]) for y in scored]])
    rows.append(["Final score", *[formatting.number(y["final_score"]) for y in scored]])
    rows.append(["Reweighting row", *[y["reweighting_row"] for y in scored]])
    rows.append(["Payment adjustment before scaling", *[
        f"{_reason(y['payment']['band'])} ({formatting.signed_percent(y['payment']['adjustment_before_scaling'])})"
        for y in scored]])
    return rows


def compare_report(doc: dict[str, Any], fmt: str) -> str:
    """The comparison of ``engine.authoring.compare`` as text or Markdown."""
    scored = [y for y in doc["years"] if "error" not in y]
    return render("compare.j2", fmt, headers=["", *[str(y["year"]) for y in scored]], rows=_table(scored),
                  errors=[y for y in doc["years"] if "error" in y],
                  steps=[_step(y) for y in scored if "attribution" in y],
                  lost=[y for y in scored if y["not_carried_over"]])
