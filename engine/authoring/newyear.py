"""Start a new performance year as a reviewed edit: copy a year's folder and advance its year."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import yaml

from engine.base.errors import Location, RulebookError, RulebookErrors
from engine.base.locations import available_years, inside_installed_package
from engine.base.reading import read_text
from engine.rules.loader import rulebook_folder

YEAR_KEYS = ("performance_year", "payment_year")
_INT_TAG = "tag:yaml.org,2002:int"


def _year(year: int | str) -> int:
    """The new performance year: four digits, from the earliest year with a rulebook on (so it can only name a
    folder)."""
    text, first = str(year), min(available_years(), default=0)
    if not re.fullmatch(r"[0-9]{4}", text) or int(text) < first:
        raise RulebookError(Location(f"year {text!r}"), "not a performance year",
                            f"expected four digits, {first} or later, e.g. 2023")
    return int(text)


def _invalid(where: Path | str, message: str, hint: str | None = None) -> RulebookErrors:
    return RulebookErrors([RulebookError(Location(str(where)), message, hint)])


def _check_tree(folder: Path) -> None:
    """Refuse a source holding a link that leads out of it, or anything but folders and regular files: the copy
    must be the rulebook itself, never what a link points to elsewhere."""
    root = folder.resolve()
    for parent, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            path = Path(parent) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                target = Path(os.path.realpath(path))
                if root not in target.parents or not target.is_file():
                    raise RulebookError(Location(str(path)), f"is a link to {str(target)!r}, outside this rulebook "
                                        "folder or not a file", "replace the link by a copy of the file it points to")
            elif not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise RulebookError(Location(str(path)), "is neither a file nor a folder", "remove it from the rulebook")


def _value_node(root: Any, key: str) -> yaml.Node | None:
    """The node of ``<key>.value`` in a composed program.yaml, if there is one."""
    node = root
    for part in (key, "value"):
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
    return node


def _parse(program: Path, text: str) -> tuple[Any, Any]:
    """program.yaml as nodes (which know where each value is written) and as data; RulebookErrors if not YAML."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(str(program), mark.line + 1, mark.column + 1) if mark else Location(str(program))
        raise RulebookErrors([RulebookError(where, f"not valid YAML: {exc.problem or exc.context}")]) from None
    except (yaml.YAMLError, RecursionError):
        raise _invalid(program, "not valid YAML (nested too deeply)") from None


def _advanced(program: Path, text: str, year: int) -> str:
    """program.yaml with its performance year set to ``year`` and its payment year moved by as much, each value
    replaced as a whole YAML token (``0x7E4`` becomes ``2031``, never ``2031x7E4``); every other character stays."""
    root, before = _parse(program, text)
    nodes: dict[str, yaml.ScalarNode] = {}
    for key in YEAR_KEYS:
        node = _value_node(root, key)
        if not isinstance(node, yaml.ScalarNode) or node.tag != _INT_TAG:
            raise _invalid(program, f"{key}.value is not a year written as an integer",
                           f"expected e.g. `{key}:` then `  value: 2022`")
        nodes[key] = node
    old = {key: yaml.SafeLoader("").construct_yaml_int(node) for key, node in nodes.items()}
    new = {"performance_year": year, "payment_year": year + old["payment_year"] - old["performance_year"]}
    edited = text
    for key, node in sorted(nodes.items(), key=lambda item: -item[1].start_mark.index):
        edited = edited[:node.start_mark.index] + str(new[key]) + edited[node.end_mark.index:]
    try:
        unchanged = yaml.safe_load(edited) == {**before, **{key: {**before[key], "value": new[key]} for key in new}}
    except (yaml.YAMLError, RecursionError, TypeError):
        unchanged = False
    if not unchanged:  # e.g. an anchor or alias shares a year with another value
        raise _invalid(program, "the years cannot be changed without changing other values",
                       "write performance_year.value and payment_year.value as plain numbers")
    return edited


def _target(folder: Path, year: int, into: Path | None) -> Path:
    """Where the copy goes, refusing a place that would be lost, is taken, or lies inside the source."""
    if into is None and inside_installed_package(folder):
        raise RulebookError(Location(str(folder)), "this rulebook is the copy installed with the engine; a new year "
                            "written beside it would be lost on reinstall",
                            "give --into a folder of your own (or install the engine with `pip install -e .` and "
                            "edit the checkout's rules/)")
    if into is not None and not into.is_dir():
        raise RulebookError(Location(str(into)), "--into is not an existing folder", "create it first or give another")
    parent = into if into is not None else folder.parent
    if parent.resolve() == folder.resolve() or folder.resolve() in parent.resolve().parents:
        raise RulebookError(Location(str(parent)), "the copy cannot go inside the folder it copies",
                            "give --into a folder outside the source")
    target = parent / str(year)
    if target.exists() or target.is_symlink():
        raise RulebookError(Location(str(target)), "already exists", "choose another year or remove it first")
    return target


def new_year(source: str | Path, year: int | str, into: Path | None = None) -> Path:
    """Copy ``source`` (a year or a folder) to ``<into>/<year>`` with its performance and payment year advanced.

    Every other value and character is carried over unchanged, so `mips diff` then shows exactly what the new
    year's edits change; the CMS reference data must be imported for the new year. A bad year, an existing or
    unsafe target, or a source with links out of it raises RulebookError; a source that is not a rulebook folder
    (or a path stepping up with '..') or has no integer years raises RulebookErrors.
    """
    number = _year(year)
    folder = rulebook_folder(source)
    program = folder / "program.yaml"
    try:
        text = read_text(program, RulebookError, "program.yaml")
    except RulebookError as exc:
        raise RulebookErrors([exc]) from None
    edited = _advanced(program, text, number)
    target = _target(folder, number, into)
    _check_tree(folder)
    _copy(folder, target, edited)
    return target


def _copy(folder: Path, target: Path, program: str) -> None:
    """Copy ``folder`` beside ``target`` with its program.yaml replaced, then move it into place in one step, so
    a failed copy leaves nothing behind."""
    try:
        with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as staging:
            copy = Path(staging) / "copy"
            shutil.copytree(folder, copy)
            (copy / "program.yaml").write_text(program, encoding="utf-8")
            os.rename(copy, target)
    except OSError as exc:
        raise RulebookError(Location(str(target)), f"cannot write the copy: {exc.strerror or exc}") from None
