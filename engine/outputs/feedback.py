"""Feedback text rendered by the Jinja templates in reports/, from a result's trace only."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from engine.base.locations import reports_dir
from engine.base.numbers import decimal

FORMATS = ("text", "md")


def _num(value: Any) -> str:
    """At most four decimals, no trailing zeros (values stay exact in the trace)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = f"{decimal(value).quantize(Decimal('0.0001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def render(document: dict[str, Any], fmt: str = "text") -> str:
    """Render the feedback for one result document (``fmt`` is ``text`` or ``md``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    nodes = {n["id"]: n for n in document["trace"]}
    rules = document["rules"]

    def node(node_id: str) -> dict[str, Any]:
        if node_id not in nodes:
            raise KeyError(f"the trace has no node {node_id!r}")
        return nodes[node_id]

    def why(node_id: str) -> str:
        parts = []
        for address in node(node_id)["rules"]:
            rule = rules[address]
            parts.append(f"{address} ({rule['file']}:{rule['line']})")
        return ("rule " + ", ".join(parts)) if parts else "computed from the values above"

    def heading(level: int, text: str) -> str:
        if fmt == "md":
            return "#" * level + " " + text
        return text + "\n" + ("=" if level == 1 else "-") * len(text)

    template = _environment().get_template("feedback.j2")
    text = template.render(result=document, node=node, why=why, h=heading, num=_num, has=lambda i: i in nodes)
    return _tidy(text)


@cache
def _environment() -> SandboxedEnvironment:
    """One sandboxed environment, so each template is compiled once."""
    return SandboxedEnvironment(loader=FileSystemLoader(str(reports_dir())), undefined=StrictUndefined,
                                lstrip_blocks=True)


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
