"""Plain-text and Markdown renderings of `compare` and `diff` results; every value from a rulebook, a submission or
the command line is escaped for the format (``engine.outputs.escaping``)."""

from __future__ import annotations

import json
from typing import Any

from engine.outputs.escaping import for_format, line_start


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(headers: list[str], rows: list[list[Any]], fmt: str) -> str:
    escape = for_format(fmt)
    headers = [escape(h) for h in headers]
    cells = [[escape(_cell(c)) for c in row] for row in rows]
    if fmt == "md":
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _heading(text: str, fmt: str) -> str:
    """A heading of text already escaped for ``fmt``."""
    return f"## {text}\n\n" if fmt == "md" else f"{text}\n{'-' * len(text)}\n"


def compare_report(doc: dict[str, Any], fmt: str) -> str:
    escape = for_format(fmt)
    years = doc["years"]
    scored = [y for y in years if "error" not in y]
    out = [_heading("One submission under each year's rules", fmt)]
    headers = ["", *[str(y["year"]) for y in scored]]
    rows: list[list[Any]] = []
    names = list(dict.fromkeys(n for y in scored for n in y["categories"]))
    for name in names:
        titles = dict.fromkeys(y["categories"][name]["title"] for y in scored if name in y["categories"])
        row: list[Any] = [" / ".join(titles) or name]
        for y in scored:
            c = y["categories"].get(name)
            row.append("N/A (0 %)" if c is None or c["reweighted"] else
                       f"{_cell(c['percent'])} % x {_cell(c['weight'])} % = {_cell(c['points'])}")
        rows.append(row)
    rows.append(["Complex patient bonus", *[y["complex_patient_bonus"] for y in scored]])
    rows.append(["Final score", *[y["final_score"] for y in scored]])
    rows.append(["Reweighting row", *[y["reweighting_row"] for y in scored]])
    rows.append(["Payment band", *[f"{y['payment']['band'].replace('_', ' ')} "
                                   f"({_cell(y['payment']['adjustment_before_scaling'])} %)" for y in scored]])
    out.append(table(headers, rows, fmt))
    for y in years:
        if "error" in y:
            out.append(f"\n{line_start(fmt, y['year'])}: not scored: {escape(y['error'])}\n")
    for y in scored:
        if y.get("differences"):
            out.append("\n" + _heading(f"{escape(y['year'])} vs {escape(y['differences_from'])}: rules that differ", fmt))
            out.append(changes_list(y["differences"], y["differences_from"], y["year"], fmt))
        lost = y["not_carried_over"]
        if lost:
            out.append(f"\n{line_start(fmt, y['year'])}: not carried over or not scored:\n")
            out.extend(f"- {escape(i['path'])}: {escape(i['message'])}\n" for i in lost)
    return "".join(out)


def _where(source: dict[str, Any] | None) -> str:
    if not source:
        return ""
    place = f"{source['file']}" + (f":{source['line']}" if source.get("line") else "")
    return f"{place} ({'; '.join(map(str, source['cite']))})"


def changes_list(changes: list[dict[str, Any]], old: Any, new: Any, fmt: str) -> str:
    """Changed values with both sources: a table in Markdown, an indented list in text."""
    if fmt == "md":
        return table(["rule", "change", str(old), str(new), f"{old} source", f"{new} source"],
                     [[c["address"], c["kind"], c["old"], c["new"], _where(c["old_source"]), _where(c["new_source"])]
                      for c in changes], fmt)
    escape = for_format(fmt)
    lines = []
    for c in changes:
        lines.append(f"{escape(c['address'])}  {c['kind']}: {escape(_cell(c['old']))} -> {escape(_cell(c['new']))}")
        for year, source in ((old, c["old_source"]), (new, c["new_source"])):
            if source:
                lines.append(f"    {escape(year)}: {escape(_where(source))}")
    return "\n".join(lines) + "\n"


def diff_report(doc: dict[str, Any], fmt: str) -> str:
    escape = for_format(fmt)
    out = [_heading(f"Rulebook {escape(doc['old'])} -> {escape(doc['new'])}: {len(doc['changes'])} values differ", fmt)]
    out.append(changes_list(doc["changes"], doc["old"], doc["new"], fmt))
    ref = doc["reference_data"]
    out.append("\nCMS reference data: " + ", ".join(
        f"{k} {escape(ref['old'][k])} -> {escape(ref['new'][k])}" for k in ref["old"] if ref["old"][k] != ref["new"][k]) + "\n")
    return "".join(out)
