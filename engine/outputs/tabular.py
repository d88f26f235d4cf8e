"""Plain-text and Markdown tables and the rendering of `diff` results; every value from a rulebook, a submission or
the command line is escaped for the format (``engine.outputs.escaping``)."""

from __future__ import annotations

import json
from typing import Any

from engine.outputs.escaping import for_format


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
