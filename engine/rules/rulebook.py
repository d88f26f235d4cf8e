"""Load a year's rulebook folder: validate every file, index every value by address, compile formulas."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from engine.base.errors import Location, OverrideError, RulebookError, RulebookErrors
from engine.base.locations import rulebook_path, rules_dir, schemas_dir
from engine.base.schemas import schema_errors
from engine.base.yamlsource import load_yaml, pointer_join
from engine.rules.expressions import Expression, ExpressionError, compile_expression
from engine.rules.names import INPUT_SETS
from engine.rules.reference import Reference, load_reference

REFERENCE_FILE = "reference/cms-measures.json"


@dataclass(frozen=True)
class Param:
    """One policy value: its address (file stem + dotted path), value, citations and place."""

    address: str
    value: Any
    cite: tuple[str, ...]
    file: str
    line: int | None
    unverified: str | None = None
    note: str | None = None
    as_of_note: str | None = None
    dependents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A condition or formula of a rule file, parsed once."""

    address: str
    expression: Expression
    cite: tuple[str, ...]
    file: str
    line: int | None
    unverified: str | None = None
    note: str | None = None


@dataclass
class Rulebook:
    """A validated, compiled rulebook for one performance year."""

    path: Path
    year: int
    params: dict[str, Param]
    rules: dict[str, Rule]
    sources: dict[str, dict]
    reference: Reference
    checksum: str
    files: list[str]
    mechanisms: dict[str, str]
    overrides: dict[str, Any] = field(default_factory=dict)
    as_of: str | None = None
    variant: str | None = None
    _variants: dict[str, Rulebook] = field(default_factory=dict, repr=False, compare=False)

    def param(self, address: str) -> Param:
        try:
            return self.params[address]
        except KeyError:
            raise KeyError(f"rulebook {self.path} has no value {address!r}") from None

    def value(self, address: str) -> Any:
        return self.param(address).value

    def value_or(self, address: str, default: Any) -> Any:
        """A value a year's rules may leave out (e.g. a crosswalk), else ``default``."""
        return self.params[address].value if address in self.params else default

    def rule(self, address: str) -> Rule:
        return self.rules[address]

    def rule_constants(self, address: str) -> dict[str, Any]:
        """The values of its own file a rule names (e.g. a formula's cap)."""
        stem = address.split(".")[0]
        names = self.rules[address].expression.names
        return {n: self.params[f"{stem}.{n}"].value for n in names if f"{stem}.{n}" in self.params}

    def evaluate(self, address: str, inputs: dict[str, Any]) -> Any:
        """Evaluate a condition or formula with the given inputs and its file's named values."""
        return self.rules[address].expression.evaluate({**inputs, **self.rule_constants(address)})

    def for_program(self, program: str) -> Rulebook:
        """The rulebook as a program scores: the year's declared values for that program laid over it."""
        variants = self.params.get("program.program_variants")
        changes = (variants.value if variants else {}).get(program)
        if not changes:
            return self
        if program not in self._variants:
            book = load_rulebook(self.path, {**changes, **self.overrides}, self.as_of)
            book.variant, book.overrides = program, dict(self.overrides)
            self._variants[program] = book
        return self._variants[program]

    def unverified(self) -> list[Param | Rule]:
        """Every value or rule still flagged unverified, in file order."""
        items: list[Param | Rule] = [p for p in self.params.values() if p.unverified]
        items += [r for r in self.rules.values() if r.unverified]
        return sorted(items, key=lambda i: (i.file, i.line or 0))

    def describe(self) -> dict[str, Any]:
        """The identity recorded in every result."""
        return {
            "year": self.year,
            "payment_year": self.params["program.payment_year"].value,
            "path": self.display_path,
            "checksum": self.checksum,
            "overrides": dict(self.overrides),
            "as_of": self.as_of,
            "program_variant": self.variant,
        }

    @property
    def display_path(self) -> str:
        return display_folder(self.path)


RULE_KEYS = {"id", "when", "formula", "inputs", "cite", "unverified", "note"}


def display_folder(folder: Path) -> str:
    """How a rulebook folder is named in messages: ``rules/<year>`` for a shipped one, else its path."""
    shipped = rules_dir().resolve()
    resolved = folder.resolve()
    if resolved.parent == shipped:
        return f"rules/{resolved.name}"
    return str(folder)


def _is_param(node: Any) -> bool:
    return isinstance(node, dict) and "value" in node and "cite" in node


def _is_rule(node: Any) -> bool:
    return isinstance(node, dict) and ("when" in node or "formula" in node) and "cite" in node


class _Builder:
    """Collects params, rules and errors while walking the files of one folder."""

    def __init__(self, folder: Path, as_of: str | None):
        self.folder = folder
        self.as_of = as_of
        self.errors: list[RulebookError] = []
        self.params: dict[str, Param] = {}
        self.rule_nodes: list[tuple[str, dict, str, str, int | None]] = []
        self.positions: dict[str, dict[str, tuple[int, int]]] = {}
        self.docs: dict[str, Any] = {}

    def display(self, name: str) -> str:
        return f"{display_folder(self.folder)}/{name}"

    def loc(self, stem: str, pointer: str, key: bool = False) -> Location:
        positions = self.positions.get(stem, {})
        line, column = positions.get(pointer + ("#key" if key else ""), positions.get(pointer, (None, None)))
        return Location(self.display(f"{stem}.yaml"), line, column, pointer)

    def error(self, stem: str, pointer: str, message: str, hint: str | None = None) -> None:
        key = message.startswith("unknown key")
        self.errors.append(RulebookError(self.loc(stem, pointer, key), message, hint))

    def walk(self, stem: str, node: Any, pointer: str, dotted: str) -> None:
        if _is_param(node):
            self.add_param(stem, node, pointer, dotted)
        elif _is_rule(node):
            self.rule_nodes.append((stem, node, pointer, dotted, self.loc(stem, pointer).line))
        elif isinstance(node, dict):
            for key, child in node.items():
                self.walk(stem, child, pointer_join(pointer, key), f"{dotted}.{key}")
        elif isinstance(node, list) and all(isinstance(i, dict) and "id" in i for i in node):
            for index, item in enumerate(node):
                where, address = pointer_join(pointer, index), f"{dotted}.{item['id']}"
                if "rows" in item:
                    self.add_table(stem, item, where, address)
                else:  # a list of conditions, each with the values it carries (e.g. a credit's percent)
                    self.rule_nodes.append((stem, item, where, address, self.loc(stem, where).line))
                    for key, value in item.items():
                        if key not in RULE_KEYS:
                            self.add_param(stem, {"value": value, "cite": item["cite"], "note": item.get("note")},
                                           pointer_join(where, key), f"{address}.{key}")

    def add_param(self, stem: str, node: dict, pointer: str, dotted: str) -> None:
        value, as_of_note = node["value"], None
        if self.as_of and node.get("amendments"):
            dated = [a for a in node["amendments"] if str(a["effective"]) <= self.as_of]
            if dated:
                latest = max(dated, key=lambda a: str(a["effective"]))
                value, as_of_note = latest["value"], f"as amended {latest['effective']}"
        self.params[dotted] = Param(
            dotted, value, tuple(node["cite"]), self.display(f"{stem}.yaml"),
            self.loc(stem, pointer).line, node.get("unverified"), node.get("note"), as_of_note,
            tuple(node.get("dependents", ())),
        )

    def add_table(self, stem: str, node: dict, pointer: str, dotted: str) -> None:
        line = self.loc(stem, pointer).line
        self.params[dotted] = Param(
            dotted, node["rows"], tuple(node["cite"]), self.display(f"{stem}.yaml"), line,
            node.get("unverified"), node.get("title"),
        )
        condition = {"when": node["applies_when"], "inputs": "eligibility", "cite": node["cite"]}
        self.rule_nodes.append((stem, condition, pointer_join(pointer, "applies_when"),
                                f"{dotted}.applies_when", line))


def _apply_override(docs: dict[str, Any], address: str, value: Any) -> None:
    stem, _, rest = address.partition(".")
    node = docs.get(stem)
    parts = rest.split(".") if rest else []
    for part in parts:
        if isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("id") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        if node is None:
            break
    if isinstance(node, dict) and "rows" in node and "id" in node:
        node["rows"] = value
    elif _is_param(node):
        node["value"] = value
        node.pop("amendments", None)
    elif _is_rule(node):
        node["formula" if "formula" in node else "when"] = str(value)
    else:
        raise OverrideError(f"--set {address}: no rulebook value has this address")


def _check_dependents(docs: dict[str, Any], overrides: dict[str, Any]) -> None:
    """Refuse a what-if on a value others were derived from, unless those are set too."""
    for address in overrides:
        stem, _, rest = address.partition(".")
        node = docs.get(stem, {})
        for part in rest.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        stale = [d for d in (node.get("dependents", []) if isinstance(node, dict) else []) if d not in overrides]
        if stale:
            raise OverrideError(f"--set {address}: {', '.join(stale)} {'is' if len(stale) == 1 else 'are'} derived "
                                "from this value; set them too (or change them instead)")


def parse_override(text: str) -> tuple[str, Any]:
    """``quality.case_minimum=30`` -> (address, value); the value is read as YAML."""
    address, sep, raw = text.partition("=")
    if not sep or not address.strip():
        raise OverrideError(f"--set {text!r}: expected ADDRESS=VALUE, e.g. payment.performance_threshold=60")
    try:
        return address.strip(), yaml.safe_load(raw)
    except yaml.YAMLError:
        raise OverrideError(f"--set {text!r}: the value is not valid YAML") from None


def _checksum(folder: Path) -> tuple[str, list[str]]:
    digest = hashlib.sha256()
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    for name in names:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest(), names


OPTIONAL_STEMS = {"crosswalk"}


def rule_file_stems() -> list[str]:
    """The concerns a year's folder may have: one schema each under schemas/rules/ (all but the
    optional ones are required)."""
    return sorted(
        p.name.removesuffix(".schema.json")
        for p in (schemas_dir() / "rules").glob("*.schema.json")
        if p.name != "common.schema.json"
    )


def load_rulebook(
    year_or_path: str | int | Path,
    overrides: dict[str, Any] | None = None,
    as_of: str | dt.date | None = None,
    reference_year_must_match: bool = True,
) -> Rulebook:
    """Load, validate and compile a rulebook; raise RulebookErrors listing every problem found."""
    folder = rulebook_path(year_or_path)
    if not folder.is_dir():
        raise RulebookErrors([RulebookError(Location(str(year_or_path)), "no rulebook folder here",
                                            "give a performance year that has a folder under rules/, or a rulebook folder path")])
    as_of_text = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
    build = _Builder(folder, as_of_text)
    stems = rule_file_stems()
    for extra in sorted(p.stem for p in folder.glob("*.yaml") if p.stem not in stems):
        build.error(extra, "", "this file is not a rulebook concern",
                    f"expected one of {', '.join(s + '.yaml' for s in stems)}")
    for stem in stems:
        path = folder / f"{stem}.yaml"
        if not path.exists() and stem in OPTIONAL_STEMS:
            continue
        if not path.exists():
            build.errors.append(RulebookError(Location(build.display(f"{stem}.yaml")), "file is missing"))
            continue
        try:
            doc, positions = load_yaml(path, build.display(path.name))
        except RulebookError as exc:
            build.errors.append(exc)
            continue
        build.docs[stem], build.positions[stem] = doc, positions
    _check_dependents(build.docs, overrides or {})
    for address, value in (overrides or {}).items():
        _apply_override(build.docs, address, value)
    for stem, doc in build.docs.items():
        problems = schema_errors(f"rules/{stem}.schema.json", doc)
        for message, hint, pointer in problems:
            prefix = "--set value: " if any(a.split(".")[0] == stem for a in overrides or {}) else ""
            build.error(stem, pointer, prefix + message, hint)
        if not problems:
            build.walk(stem, doc, "", stem)
    if build.errors:
        raise RulebookErrors(build.errors)
    sources = build.docs["sources"]["sources"]
    _check_citations(build, sources)
    rules = _compile_rules(build)
    reference = _load_reference_checked(build)
    year = build.params["program.performance_year"].value
    _check_year(build, folder, year, reference, reference_year_must_match)
    from engine.rules.checks import consistency_errors  # local import: checks read a built rulebook

    checksum, names = _checksum(folder)
    mechanisms = {stem: doc["mechanism"] for stem, doc in build.docs.items() if "mechanism" in doc}
    book = Rulebook(folder, year, build.params, rules, sources, reference, checksum, names, mechanisms,
                    dict(overrides or {}), as_of_text)
    build.errors.extend(consistency_errors(book))
    if build.errors:
        raise RulebookErrors(build.errors)
    return book


def _check_citations(build: _Builder, sources: dict) -> None:
    cited = [(p.address, p.cite, p.file, p.line) for p in build.params.values()]
    cited += [(d, tuple(n["cite"]), build.display(f"{s}.yaml"), line)
              for s, n, _, d, line in build.rule_nodes]
    for address, cite, file, line in cited:
        for key in cite:
            if key not in sources:
                close = difflib.get_close_matches(key, sorted(sources), n=1)
                build.errors.append(RulebookError(
                    Location(file, line, None, address), f"cites {key!r}, which sources.yaml does not list",
                    f"did you mean {close[0]!r}?" if close else None))


def _compile_rules(build: _Builder) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for stem, node, pointer, dotted, line in build.rule_nodes:
        own = {a.split(".", 1)[1] for a in build.params if a.startswith(stem + ".") and a.count(".") == 1}
        names = set(INPUT_SETS[node["inputs"]]) | own
        key = "formula" if "formula" in node else "when"
        try:
            expression = compile_expression(node[key], names)
        except ExpressionError as exc:
            build.errors.append(RulebookError(build.loc(stem, pointer_join(pointer, key)), str(exc)))
            continue
        rules[dotted] = Rule(dotted, expression, tuple(node["cite"]), build.display(f"{stem}.yaml"),
                             line, node.get("unverified"), node.get("note"))
    if build.errors:
        raise RulebookErrors(build.errors)
    return rules


def _load_reference_checked(build: _Builder) -> Reference:
    path = build.folder / REFERENCE_FILE
    location = Location(build.display(REFERENCE_FILE))
    if not path.exists():
        raise RulebookErrors([RulebookError(location, "reference data file is missing",
                                            "write it with `mips import-cms-data`")])
    return _reference(path.read_bytes(), location.file)


@lru_cache(maxsize=16)
def _reference(content: bytes, name: str) -> Reference:
    """Parse and validate reference data once per content (a compare loads each year's file once)."""
    try:
        doc = json.loads(content)
    except json.JSONDecodeError as exc:
        raise RulebookErrors([RulebookError(Location(name, exc.lineno, exc.colno),
                                            f"not valid JSON: {exc.msg}")]) from None
    problems = schema_errors("reference.schema.json", doc)
    if problems:
        raise RulebookErrors([RulebookError(Location(name, None, None, p), m, h) for m, h, p in problems[:20]])
    return load_reference(doc)


def _check_year(build: _Builder, folder: Path, year: int, reference: Reference, reference_must_match: bool) -> None:
    param = build.params["program.performance_year"]
    if folder.name.isdigit() and int(folder.name) != year:
        build.errors.append(RulebookError(Location(param.file, param.line), f"performance_year is {year} "
                                          f"but the folder is named {folder.name}"))
    if reference_must_match and reference.performance_year != year:
        build.errors.append(RulebookError(Location(build.display(REFERENCE_FILE)),
                                          f"reference data is for {reference.performance_year}, not {year}",
                                          f"import the year's CMS data: mips import-cms-data DIR --year {year} "
                                          f"--version V --out {build.display(REFERENCE_FILE)}"))
