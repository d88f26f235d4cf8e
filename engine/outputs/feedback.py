"""Feedback rendered from a result's view model (``engine.outputs.view``) by one template per format in
reports/feedback/: plain text, Markdown, and a single-file HTML report.

Templates run in a sandbox with strict undefined names: a template that names anything but its view model fails
when it is loaded, and one that reaches for an attribute the view model does not have fails when it renders. Text and
Markdown route every printed value through the format's escaping (``engine.outputs.escaping``); HTML is
autoescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from engine.base.locations import reports_dir
from engine.outputs import formatting, svg
from engine.outputs.escaping import for_format, line_start, one_line
from engine.outputs.view import build
from engine.outputs.view_model import Report
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook

FORMATS = ("text", "md", "html")
LIBRARY = "feedback/words.j2"  # imported by every format's template; it may name no variable at all
NUMBER_FILTERS: dict[str, Callable[..., str]] = {
    "num": formatting.number, "pct": formatting.percent, "signed": formatting.signed_percent,
    "fixed": formatting.fixed, "usd": formatting.dollars, "ratio": formatting.ratio, "factor": formatting.factor,
}


def template_name(fmt: str) -> str:
    return f"feedback/{fmt}.j2"


def rulebook_of(document: Mapping[str, Any]) -> Rulebook:
    """The rulebook a result document names (folder, what-ifs, as-of date, program), as it was when scored."""
    identity = document["rulebook"]
    book = load_rulebook(identity["path"], identity.get("overrides") or None, identity.get("as_of"))
    if identity.get("program_variant"):
        book = book.for_program(identity["program_variant"])
    if book.checksum != identity["checksum"]:
        raise ValueError(f"the rulebook {book.display_path} changed since this result was scored "
                         f"({identity['checksum'][:19]}..., now {book.checksum[:19]}...): score it again")
    return book


def render(document: Mapping[str, Any], fmt: str = "text", book: Rulebook | None = None) -> str:
    """The feedback for one result document in ``fmt`` (``text``, ``md`` or ``html``); ``book`` is the rulebook it
    was scored with (read again from the folder the document names when not given)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return render_view(build(document, book or rulebook_of(document)), fmt)


def render_view(view: Report, fmt: str) -> str:
    """A view model rendered by the format's template."""
    text = _environment(fmt).get_template(template_name(fmt)).render(view=view)
    return text if fmt == "html" else _tidy(text)


def _checked(environment: SandboxedEnvironment, name: str, allowed: frozenset[str]) -> None:
    """Refuse a template that names a variable outside ``allowed`` (a typo, or a reach outside its view model)."""
    assert environment.loader is not None
    source, _, _ = environment.loader.get_source(environment, name)
    unknown = sorted(meta.find_undeclared_variables(environment.parse(source, name)) - allowed)
    if unknown:
        raise TemplateError(f"{name} names {', '.join(unknown)}, which is not part of its view model; a template may "
                            f"name only {', '.join(sorted(allowed)) or 'its macros parameters'}")


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox with its verdict on an attribute kept per (type, name), which is all the verdict depends on."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
        return verdict


@cache
def _environment(fmt: str) -> SandboxedEnvironment:
    """The format's sandboxed environment, its templates checked once when it is made. Jinja's globals (range,
    dict, cycler...) are removed: a template reads its view model and nothing else."""
    environment = _html() if fmt == "html" else _plain(fmt)
    environment.globals.clear()
    environment.filters.update(NUMBER_FILTERS)
    _checked(environment, LIBRARY, frozenset())
    _checked(environment, template_name(fmt), frozenset({"view"}))
    return environment


def _html() -> SandboxedEnvironment:
    environment = _Sandbox(loader=FileSystemLoader(str(reports_dir())), undefined=StrictUndefined,
                           autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=_html_text)
    environment.filters.update(contributions_svg=svg.contributions, deciles_svg=svg.deciles, curve_svg=svg.curve)
    return environment


def _html_text(value: Any) -> Any:
    """A printed string with its control and direction-changing characters shown as escapes (autoescaping then
    handles the markup characters)."""
    return one_line(value) if isinstance(value, str) and not hasattr(value, "__html__") else value


def _plain(fmt: str) -> SandboxedEnvironment:
    """Text and Markdown: autoescaping routes every printed value through ``finalize`` (the format's escaping), so
    macro output (already escaped) passes as it is; ``join`` and ``replace`` are redefined so that no HTML escaping
    leaks in, and ``line_start`` escapes a value that begins a line."""
    escape = for_format(fmt)

    def finalize(value: Any) -> Any:
        if hasattr(value, "__html__") or isinstance(value, int | float) and not isinstance(value, bool):
            return value
        return Markup(escape(value))

    def join(items: Any, separator: str = "") -> Markup:
        return Markup(separator.join(str(finalize(item)) for item in items))

    def replace(value: Any, old: str, new: str) -> str:
        return str(value).replace(old, new)

    environment = _Sandbox(loader=FileSystemLoader(str(reports_dir())), undefined=StrictUndefined,
                           autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=finalize)
    environment.filters.update(join=join, replace=replace, line_start=lambda value: Markup(line_start(fmt, value)))
    return environment


def _tidy(text: str) -> str:
    """Trailing spaces dropped, at most one blank line in a row, one newline at the end."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
