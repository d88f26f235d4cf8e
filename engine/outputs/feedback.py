"""Feedback text rendered by the Jinja templates in reports/, from a result's trace only."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from engine.base.locations import reports_dir
from engine.base.numbers import decimal
from engine.outputs.escaping import for_format, line_start

FORMATS = ("text", "md")


def _num(value: Any) -> str:
    """At most four decimals, no trailing zeros (values stay exact in the trace); what cannot be shown so (not a
    number, or too large) is returned as text, to be escaped like any other printed value."""
    if value is None:
        return Markup("n/a")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    try:
        text = f"{decimal(value).quantize(Decimal('0.0001')):f}"
    except ArithmeticError:  # not a number, or too large to show to four decimals
        return str(value)
    return Markup(text.rstrip("0").rstrip(".") if "." in text else text)


def render(document: dict[str, Any], fmt: str = "text") -> str:
    """Render the feedback for one result document (``fmt`` is ``text`` or ``md``).

    Every value the templates print passes through the format's escaping (``engine.outputs.escaping``) exactly
    once; the template text itself, headings and the numbers ``num`` formats are the engine's own."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    nodes = {n["id"]: n for n in document["trace"]}
    rules = document["rules"]
    escape = for_format(fmt)

    def node(node_id: str) -> dict[str, Any]:
        if node_id not in nodes:
            raise KeyError(f"the trace has no node {node_id!r}")
        return nodes[node_id]

    def why(node_id: str) -> Markup:
        parts = []
        for address in node(node_id)["rules"]:
            rule = rules[address]
            parts.append(f"{escape(address)} ({escape(rule['file'])}:{escape(rule['line'])})")
        return Markup(("rule " + ", ".join(parts)) if parts else "computed from the values above")

    def heading(level: int, text: str) -> Markup:
        line = escape(text)
        if fmt == "md":
            return Markup("#" * level + " " + line)
        return Markup(line + "\n" + ("=" if level == 1 else "-") * len(line))

    template = _environment(fmt).get_template("feedback.j2")
    text = template.render(result=document, node=node, why=why, h=heading, num=_num, has=lambda i: i in nodes)
    return _tidy(text)


@cache
def _environment(fmt: str) -> SandboxedEnvironment:
    """One sandboxed environment per format, so each template is compiled once. Autoescaping routes every printed
    value through ``finalize``; ``join`` and ``replace`` are redefined so that no HTML escaping leaks in, and
    ``line_start`` escapes a value that begins a line."""
    escape = for_format(fmt)

    def finalize(value: Any) -> Any:
        if hasattr(value, "__html__") or isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return value
        return Markup(escape(value))

    def join(items: Any, separator: str = "") -> Markup:
        return Markup(separator.join(str(finalize(item)) for item in items))

    def replace(value: Any, old: str, new: str) -> str:
        return str(value).replace(old, new)

    environment = SandboxedEnvironment(loader=FileSystemLoader(str(reports_dir())), undefined=StrictUndefined,
                                       lstrip_blocks=True, autoescape=True, finalize=finalize)
    environment.filters.update(join=join, replace=replace, line_start=lambda value: Markup(line_start(fmt, value)))
    return environment


def _tidy(text: str) -> str:
    """Templates stay readable; the output gets one blank line before each heading and none elsewhere."""
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    out: list[str] = []
    for index, line in enumerate(lines):
        underline = index + 1 < len(lines) and set(lines[index + 1]) <= {"=", "-"} and len(lines[index + 1]) > 2
        if out and (line.startswith("#") or underline):
            out.append("")
        out.append(line)
    return "\n".join(out) + "\n"
