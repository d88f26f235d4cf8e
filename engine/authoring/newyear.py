"""Start a new performance year as a reviewed edit: copy a year's folder and advance its year."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.base.errors import Location, RulebookError
from engine.base.locations import inside_installed_package, rulebook_path
from engine.base.yamlsource import load_yaml


def _set_value_line(path: Path, pointer: str, new: int) -> None:
    _, positions = load_yaml(path)
    line, column = positions[pointer]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    text = lines[line - 1]
    start = column - 1
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    lines[line - 1] = text[:start] + str(new) + text[end:]
    path.write_text("".join(lines), encoding="utf-8")


def new_year(source: str | Path, year: int, into: Path | None = None) -> Path:
    """Copy ``source`` (a year or a folder) to ``<into>/<year>`` with its performance and payment year advanced.

    Every other value is carried over unchanged, so `mips diff` then shows exactly what the new
    year's edits change; the CMS reference data must be imported for the new year.
    """
    folder = rulebook_path(source)
    if into is None and inside_installed_package(folder):
        raise RulebookError(Location(str(folder)), "this rulebook is the copy installed with the engine; a new year "
                            "written beside it would be lost on reinstall",
                            "give --into a folder of your own (or install the engine with `pip install -e .` and "
                            "edit the checkout's rules/)")
    target = (into or folder.parent) / str(year)
    if target.exists():
        raise RulebookError(Location(str(target)), "already exists", "choose another year or remove it first")
    program = folder / "program.yaml"
    doc, _ = load_yaml(program)
    old_year = doc["performance_year"]["value"]
    gap = doc["payment_year"]["value"] - old_year
    shutil.copytree(folder, target)
    _set_value_line(target / "program.yaml", "/performance_year/value", year)
    _set_value_line(target / "program.yaml", "/payment_year/value", year + gap)
    return target
