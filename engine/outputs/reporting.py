"""The review worksheet and the comparison rendered by their Jinja templates in reports/ (``review.j2``,
``compare.j2``), in text or Markdown.

Every value a template prints passes through the format's escaping (``engine.outputs.escaping``) once; numbers go
through the one formatter (``engine.outputs.formatting``); headings and tables are written by the helpers below."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from engine.base.locations import reports_dir
from engine.outputs import formatting
from engine.outputs.escaping import for_format, line_start
from engine.outputs.tabular import table

FORMATS = ("text", "md")


def readable(value: Any) -> str:
    """A value as a sentence shows it, never as JSON: numbers by the formatter (an int as written: a count, a year,
    an id), true/false as yes/no, lists joined, a weights row as its label and weights, other mappings as
    ``key value`` pairs (an empty value inside them as ``none``)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return formatting.number(value)
    if isinstance(value, list | tuple):
        return ", ".join(readable(v) or "none" for v in value) or "none"
    if isinstance(value, dict):
        if isinstance(value.get("weights"), dict):
            label = value.get("row") or value.get("label") or ""
            table = f" of {value['table']}" if value.get("table") else ""
            weights = ", ".join(f"{k} {readable(v)} %" for k, v in value["weights"].items())
            return (f"row \"{label}\"{table}: " if label else "") + weights
        return "; ".join(f"{str(k).replace('_', ' ')} {readable(v) or 'none'}" for k, v in value.items()) or "none"
    return str(value)


@cache
def _environment(fmt: str) -> SandboxedEnvironment:
    escape = for_format(fmt)

    def finalize(value: Any) -> Any:
        return value if hasattr(value, "__html__") else Markup(escape(readable(value)))

    def heading(level: int, text: Any) -> Markup:
        line = escape(text)
        if fmt == "md":
            return Markup("#" * level + " " + line)
        return Markup(line + "\n" + ("=" if level == 1 else "-") * len(line))

    def grid(headers: list[str], rows: list[list[Any]]) -> Markup:
        return Markup(table(headers, [[readable(c) for c in row] for row in rows], fmt))

    environment = SandboxedEnvironment(loader=FileSystemLoader(str(reports_dir())), undefined=StrictUndefined,
                                       lstrip_blocks=True, autoescape=True, finalize=finalize)
    environment.globals.update(h=heading, table=grid, num=lambda v: Markup(escape(formatting.number(v))),
                               pct=lambda v: Markup(escape(formatting.percent(v))),
                               signed=lambda v: Markup(escape(formatting.signed_percent(v))), md=fmt == "md")
    environment.filters.update(line_start=lambda value: Markup(line_start(fmt, readable(value))))
    return environment


def render(template: str, fmt: str, **context: Any) -> str:
    """``reports/<template>`` rendered in ``fmt`` with ``context``; blank lines only before headings."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    text = _environment(fmt).get_template(template).render(**context)
    return _tidy([line.rstrip() for line in text.splitlines() if line.strip()], fmt)


def _kind(lines: list[str], index: int) -> str:
    line = lines[index]
    if set(line) <= {"=", "-"} and len(line) > 2 and index:
        return "underline"
    if line.startswith("#") or index + 1 < len(lines) and set(lines[index + 1]) <= {"=", "-"} and len(lines[index + 1]) > 2:
        return "heading"
    return "table" if line.startswith("|") else "item" if line.startswith(("- ", "  ")) else "text"


def _tidy(lines: list[str], fmt: str) -> str:
    """Templates stay readable; the output gets a blank line before each heading and table, and in Markdown before
    each list and between paragraphs; none elsewhere."""
    out: list[str] = []
    previous = ""
    for index, line in enumerate(lines):
        kind = _kind(lines, index)
        block = kind == "table" or kind == "item" and fmt == "md"
        if out and (kind == "heading" or block and kind != previous or fmt == "md" and kind == "text"):
            out.append("")
        out.append(line)
        previous = kind
    return "\n".join(out) + "\n"
