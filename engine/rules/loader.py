"""Load a year's rulebook folder once: validate every file, index every value by address, compile formulas.

The result is cached by (folder, content checksum, what-ifs, as-of date), so every run, thread or process
that asks for the same rules shares one immutable compiled rulebook.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.base.errors import Location, RulebookError, RulebookErrors
from engine.base.frozen import FrozenDict, freeze
from engine.base.locations import rulebook_path, schemas_dir
from engine.base.reading import read_text
from engine.base.schemas import schema_errors
from engine.base.yamlsource import MAX_BYTES, parse_yaml, pointer_join
from engine.rules.checks import consistency_errors
from engine.rules.expressions import ExpressionError, ExpressionKind, compile_expression
from engine.rules.fixed_point import zero_divisors
from engine.rules.model import Param, Rule, Rulebook
from engine.rules.names import INPUT_SETS
from engine.rules.overrides import RULE_KEYS, apply_override, check_overrides, check_values, is_param, is_rule, parse_as_of
from engine.rules.reference import Reference, load_reference

REFERENCE_FILE = "reference/cms-measures.json"
REFERENCE_BYTES = 16 << 20  # a year's CMS data is about 0.5 MB
OPTIONAL_STEMS = {"crosswalk"}
_CACHE_SIZE = 32
_cache: OrderedDict[tuple, Rulebook] = OrderedDict()


def display_folder(folder: Path) -> str:
    """How a rulebook folder is named in results and messages: the folder actually read, relative to the
    working directory when it lies inside it."""
    resolved = folder.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def rule_file_stems() -> list[str]:
    """The concerns a year's folder may have: one schema each under schemas/rules/."""
    return sorted(
        p.name.removesuffix(".schema.json")
        for p in (schemas_dir() / "rules").glob("*.schema.json")
        if p.name != "common.schema.json"
    )


class _Builder:
    """Collects params, rules and errors while walking the files of one folder."""

    def __init__(self, display: str, positions: Mapping[str, Mapping[str, tuple[int, int]]], as_of: dt.date | None):
        self.folder_display = display
        self.positions = positions
        self.as_of = as_of
        self.errors: list[RulebookError] = []
        self.params: dict[str, Param] = {}
        # per rule: its file stem, the rule, its expression's JSON pointer, its address and its line
        self.rule_nodes: list[tuple[str, dict, str, str, int | None]] = []

    def display(self, name: str) -> str:
        return f"{self.folder_display}/{name}"

    def loc(self, stem: str, pointer: str, key: bool = False) -> Location:
        positions = self.positions.get(stem, {})
        found = positions.get(pointer + ("#key" if key else ""))
        place = pointer
        while found is None and place:  # a part a what-if added: the nearest value the file has
            place = place.rsplit("/", 1)[0]
            found = positions.get(place)
        line, column = found or (None, None)
        return Location(self.display(f"{stem}.yaml"), line, column, pointer)

    def error(self, stem: str, pointer: str, message: str, hint: str | None = None) -> None:
        key = message.startswith("unknown key")
        self.errors.append(RulebookError(self.loc(stem, pointer, key), message, hint))

    def walk(self, stem: str, node: Any, pointer: str, dotted: str) -> None:
        if is_param(node):
            self.add_param(stem, node, pointer, dotted)
        elif is_rule(node):
            self.rule_nodes.append((stem, node, _expression_at(node, pointer), dotted, self.loc(stem, pointer).line))
        elif isinstance(node, dict):
            for key, child in node.items():
                self.walk(stem, child, pointer_join(pointer, key), f"{dotted}.{key}")
        elif isinstance(node, list) and all(isinstance(i, dict) and "id" in i for i in node):
            for index, item in enumerate(node):
                self.walk_item(stem, item, pointer_join(pointer, index), f"{dotted}.{item['id']}")

    def walk_item(self, stem: str, item: dict, where: str, address: str) -> None:
        if "rows" in item:
            self.add_table(stem, item, where, address)
            return
        # a list of conditions, each with the values it carries (e.g. a credit's percent)
        self.rule_nodes.append((stem, item, _expression_at(item, where), address, self.loc(stem, where).line))
        for key, value in item.items():
            if key not in RULE_KEYS:
                self.add_param(stem, {"value": value, "cite": item["cite"], "note": item.get("note")},
                               pointer_join(where, key), f"{address}.{key}")

    def add_param(self, stem: str, node: dict, pointer: str, dotted: str) -> None:
        value, amended = node["value"], None
        dated = self.amendments(stem, node, pointer)
        if self.as_of and dated:
            in_force = [(date, a) for date, a in dated if date <= self.as_of]
            if in_force:
                amended, latest = max(in_force, key=lambda pair: pair[0])
                value = latest["value"]
        self.params[dotted] = Param(
            dotted, freeze(value), tuple(node["cite"]), self.display(f"{stem}.yaml"),
            self.loc(stem, pointer).line, node.get("unverified"), node.get("note"), amended,
            tuple(node.get("dependents", ())), bool(node.get("documentary")),
        )

    def amendments(self, stem: str, node: dict, pointer: str) -> list[tuple[dt.date, dict]]:
        """A value's amendments with their dates; a date that is not in the calendar is an error."""
        dated = []
        for index, amendment in enumerate(node.get("amendments", ())):
            try:
                dated.append((dt.date.fromisoformat(amendment["effective"]), amendment))
            except ValueError:
                self.error(stem, f"{pointer}/amendments/{index}/effective",
                           f"{amendment['effective']!r} is not a calendar date (expected YYYY-MM-DD)")
        return dated

    def add_table(self, stem: str, node: dict, pointer: str, dotted: str) -> None:
        line = self.loc(stem, pointer).line
        self.params[dotted] = Param(dotted, freeze(node["rows"]), tuple(node["cite"]), self.display(f"{stem}.yaml"),
                                    line, node.get("unverified"), node.get("title"))
        condition = {"when": node["applies_when"], "inputs": "eligibility", "cite": node["cite"]}
        where = pointer_join(pointer, "applies_when")
        self.rule_nodes.append((stem, condition, where, f"{dotted}.applies_when", self.loc(stem, where).line))


def _expression_at(rule: dict, pointer: str) -> str:
    """The pointer of a rule's expression (its formula or its condition)."""
    return pointer_join(pointer, "formula" if "formula" in rule else "when")


def _checksum(files: Mapping[str, str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return "sha256:" + digest.hexdigest()


def _refuse(place: str, message: str, hint: str | None = None) -> RulebookErrors:
    return RulebookErrors([RulebookError(Location(place), message, hint)])


def rulebook_folder(year_or_path: str | int | Path) -> Path:
    """The rulebook folder a performance year (digits, a folder under rules/) or a folder path names; refused when it
    is not one: a path with '..' parts, no folder there, or a folder holding none of the rule files."""
    if isinstance(year_or_path, bool) or not isinstance(year_or_path, str | int | Path):
        raise _refuse(repr(year_or_path)[:80], f"expected a performance year or a rulebook folder path, not a "
                      f"{type(year_or_path).__name__}")
    text = str(year_or_path)
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not text.strip() or "\0" in text or len(text) > 4096:
        raise _refuse(repr(shown), "not a performance year or a folder path")
    if ".." in Path(text).parts:
        raise _refuse(shown, "a rulebook path may not step up with '..'", "give a performance year (e.g. 2020) or the "
                      "rulebook folder's own path")
    folder = rulebook_path(year_or_path)
    try:
        is_folder = folder.is_dir()
    except OSError as exc:
        raise _refuse(shown, f"cannot read this folder: {exc.strerror or exc}") from None
    if not is_folder:
        raise _refuse(shown, "no rulebook folder here",
                      "give a performance year that has a folder under rules/, or a rulebook folder path")
    if not any(os.path.lexists(folder / f"{stem}.yaml") for stem in rule_file_stems()):
        raise _refuse(display_folder(folder), "not a rulebook folder: it holds none of the rule files",
                      f"expected {', '.join(s + '.yaml' for s in rule_file_stems())}")
    return folder


def _read(folder: Path, relative: str, display: str, what: str, limit: int) -> str:
    """A file of the folder as text; a link that leads outside the folder, or a file that is not a bounded regular
    UTF-8 file, is refused naming the file."""
    path = folder / relative
    shown = f"{display}/{relative}"
    real = os.path.realpath(path)
    if os.path.commonpath([real, os.path.realpath(folder)]) != os.path.realpath(folder):
        raise RulebookError(Location(shown), f"this {what} is a link to a file outside the rulebook folder",
                            "copy the file into the folder instead of linking to it")
    try:
        return read_text(path, RulebookError, what, limit)
    except RulebookError as exc:
        raise RulebookError(Location(shown, exc.location.line), exc.message, exc.hint) from None


def _read_folder(folder: Path, display: str) -> tuple[dict[str, str], list[RulebookError]]:
    """The text of each rule file and of the reference data, by path in the folder; every file that is missing (and
    not optional), unreadable or not a rulebook concern is an error."""
    stems = rule_file_stems()
    try:
        extras = sorted(p.name for p in folder.glob("*.yaml") if p.stem not in stems)
    except OSError as exc:
        return {}, [RulebookError(Location(display), f"cannot list the rulebook folder: {exc.strerror or exc}")]
    errors = [RulebookError(Location(f"{display}/{extra}"), "this file is not a rulebook concern",
                            f"expected one of {', '.join(s + '.yaml' for s in stems)}") for extra in extras]
    files: dict[str, str] = {}
    wanted = [(f"{stem}.yaml", "rule file", MAX_BYTES, stem in OPTIONAL_STEMS) for stem in stems]
    for relative, what, limit, optional in [*wanted, (REFERENCE_FILE, "reference data file", REFERENCE_BYTES, False)]:
        if not os.path.lexists(folder / relative):
            if not optional:
                hint = "write it with `mips import-cms-data`" if relative == REFERENCE_FILE else None
                errors.append(RulebookError(Location(f"{display}/{relative}"), "file is missing", hint))
            continue
        try:
            files[relative] = _read(folder, relative, display, what, limit)
        except RulebookError as exc:
            errors.append(exc)
    return files, errors


def load_rulebook(
    year_or_path: str | int | Path,
    overrides: Mapping[str, Any] | None = None,
    as_of: str | dt.date | None = None,
    reference_year_must_match: bool = True,
) -> Rulebook:
    """Load, validate and compile a rulebook (or take it from the cache); raise RulebookErrors listing every
    problem found."""
    folder = rulebook_folder(year_or_path)
    date = parse_as_of(as_of)
    what_ifs = check_values(overrides)
    display = display_folder(folder)
    files, errors = _read_folder(folder, display)
    if errors:
        raise RulebookErrors(errors)
    checksum = _checksum(files)
    key = (str(folder.resolve()), display, checksum, json.dumps(what_ifs, sort_keys=True), date, reference_year_must_match)
    if key in _cache:
        _cache.move_to_end(key)
        return _cache[key]
    book = _load(folder, files, checksum, what_ifs, date, reference_year_must_match)
    _cache[key] = book
    if len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return book


def _load(folder: Path, files: Mapping[str, str], checksum: str, overrides: dict[str, Any], as_of: dt.date | None,
          reference_year_must_match: bool) -> Rulebook:
    display = display_folder(folder)
    docs, positions, errors = _parse_files(files, display)
    if errors:
        raise RulebookErrors(errors)
    reference = _parse_reference(files[REFERENCE_FILE], f"{display}/{REFERENCE_FILE}")
    identity = {"path": folder, "display_path": display, "checksum": checksum, "files": tuple(sorted(files)),
                "reference": reference}
    base = _compile(docs, positions, overrides, as_of, identity, None, reference_year_must_match)
    variants = {}
    for program, changes in base.value_or("program.program_variants", {}).items():
        variants[program] = _compile(docs, positions, {**changes, **overrides}, as_of, identity, program,
                                     reference_year_must_match, shown=overrides)
    object.__setattr__(base, "variants", FrozenDict(variants))
    return base


def _parse_files(files: Mapping[str, str], display: str) -> tuple[dict[str, Any], dict[str, Any], list[RulebookError]]:
    docs: dict[str, Any] = {}
    positions: dict[str, Any] = {}
    errors: list[RulebookError] = []
    for stem in rule_file_stems():
        if f"{stem}.yaml" in files:
            try:
                docs[stem], positions[stem] = parse_yaml(files[f"{stem}.yaml"], f"{display}/{stem}.yaml")
            except RulebookError as exc:
                errors.append(exc)
    return docs, positions, errors


def _compile(docs: Mapping[str, Any], positions: Mapping[str, Any], overrides: Mapping[str, Any],
             as_of: dt.date | None, identity: dict[str, Any], variant: str | None, reference_year_must_match: bool,
             shown: Mapping[str, Any] | None = None) -> Rulebook:
    """Compile the documents with the what-ifs laid over a copy of them."""
    copied: dict[str, Any] = copy.deepcopy(dict(docs))
    check_overrides(copied, overrides)
    for address, value in overrides.items():
        apply_override(copied, address, value)
    docs = copied
    build = _Builder(identity["display_path"], positions, as_of)
    for stem, doc in docs.items():
        problems = schema_errors(f"rules/{stem}.schema.json", doc)
        for message, hint, pointer in problems:
            prefix = "--set value: " if any(a.split(".")[0] == stem for a in overrides) else ""
            build.error(stem, pointer, prefix + message, hint)
        if not problems:
            build.walk(stem, doc, "", stem)
    if build.errors:
        raise RulebookErrors(build.errors)
    sources = docs["sources"]["sources"]
    _check_citations(build, sources)
    rules = _compile_rules(build)
    year = build.params["program.performance_year"].value
    _check_year(build, identity, year, reference_year_must_match)
    book = Rulebook(
        identity["path"], identity["display_path"], year, FrozenDict(build.params), FrozenDict(rules), freeze(sources),
        identity["reference"], identity["checksum"], identity["files"],
        FrozenDict({stem: doc["mechanism"] for stem, doc in docs.items() if "mechanism" in doc}),
        freeze(dict(overrides if shown is None else shown)), as_of, variant,
    )
    build.errors.extend(consistency_errors(book, build.loc("weights", "/reweight_when", key=True)))
    if build.errors:
        raise RulebookErrors(build.errors)
    return book


def _check_citations(build: _Builder, sources: dict) -> None:
    cited = [(p.address, p.cite, p.file, p.line) for p in build.params.values()]
    cited += [(d, tuple(n["cite"]), build.display(f"{s}.yaml"), line) for s, n, _, d, line in build.rule_nodes]
    for address, cite, file, line in cited:
        for key in cite:
            if key not in sources:
                close = difflib.get_close_matches(key, sorted(sources), n=1)
                build.errors.append(RulebookError(
                    Location(file, line, None, address), f"cites {key!r}, which sources.yaml does not list",
                    f"did you mean {close[0]!r}?" if close else None))


def _compile_rules(build: _Builder) -> dict[str, Rule]:
    """Each condition and formula compiled; one whose divisor is 0 at the rulebook's precision is refused too (the
    kernels round every constant to that precision)."""
    rules: dict[str, Rule] = {}
    digits = build.params["program.precision"].value["decimals"]
    for stem, node, pointer, dotted, line in build.rule_nodes:
        constants = {a.split(".", 1)[1]: p.value for a, p in build.params.items()
                     if a.startswith(stem + ".") and a.count(".") == 1}
        key = "formula" if "formula" in node else "when"
        what: ExpressionKind = "formula" if key == "formula" else "condition"
        try:
            expression = compile_expression(node[key], INPUT_SETS[node["inputs"]], constants, what)
            for divisor in zero_divisors(expression, digits):
                raise ExpressionError(f"{what} {node[key]!r:.80}: the divisor {divisor} is 0 at the rulebook's precision "
                                      f"of {digits} decimals (program.precision)")
        except ExpressionError as exc:
            build.errors.append(RulebookError(build.loc(stem, pointer), str(exc)))
            continue
        rules[dotted] = Rule(dotted, expression, tuple(node["cite"]), build.display(f"{stem}.yaml"),
                             line, node.get("unverified"), node.get("note"))
    if build.errors:
        raise RulebookErrors(build.errors)
    return rules


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


@lru_cache(maxsize=16)
def _parse_reference(content: str, name: str) -> Reference:
    """Parse and validate reference data once per content (a compare loads each year's file once)."""
    try:
        doc = json.loads(content, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise RulebookErrors([RulebookError(Location(name, exc.lineno, exc.colno),
                                            f"not valid JSON: {exc.msg}")]) from None
    except (ValueError, RecursionError) as exc:  # NaN, Infinity, an integer of thousands of digits, deep nesting
        raise RulebookErrors([RulebookError(Location(name), f"not valid reference data: {str(exc)[:120]}")]) from None
    problems = schema_errors("reference.schema.json", doc)
    if problems:
        raise RulebookErrors([RulebookError(Location(name, None, None, p), m, h) for m, h, p in problems[:20]])
    return load_reference(doc)


def _check_year(build: _Builder, identity: dict[str, Any], year: int, reference_must_match: bool) -> None:
    param = build.params["program.performance_year"]
    folder: Path = identity["path"]
    if folder.name.isdigit() and int(folder.name) != year:
        build.errors.append(RulebookError(Location(param.file, param.line), f"performance_year is {year} "
                                          f"but the folder is named {folder.name}"))
    reference: Reference = identity["reference"]
    if reference_must_match and reference.performance_year != year:
        build.errors.append(RulebookError(Location(build.display(REFERENCE_FILE)),
                                          f"reference data is for {reference.performance_year}, not {year}",
                                          f"import the year's CMS data: mips import-cms-data DIR --year {year} "
                                          f"--version V --out {build.display(REFERENCE_FILE)}"))
