"""YAML loading that remembers where every value came from (line and column), and refuses hostile YAML.

A rule file is plain data: mappings with text keys, lists, text, finite numbers, true/false and null. Before
anything is built from the parsed nodes, the file is refused with its line and column if it holds a character YAML
does not allow, a tag other than those of plain data (``!!python/...``, ``!!binary``, ``!!set``, a custom ``!tag``),
a merge key (``<<``), a key that is not text (``? [a, b]``, ``1:``), a number that is not finite or is larger than
:data:`MAX_MAGNITUDE`, an alias of a value that contains it, nesting deeper than :data:`MAX_DEPTH`, or more than
:data:`MAX_VALUES` values once its aliases are expanded (an alias bomb). So every later step (building the values,
their positions, schema checks, copies) works on a bounded tree.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from engine.base.errors import Location, RulebookError
from engine.base.reading import read_text

MAX_BYTES = 1 << 20  # the largest shipped rule file is about 25 KB
MAX_DEPTH = 20  # the shipped rule files nest at most 7 deep
MAX_VALUES = 20_000  # the largest shipped rule file holds about 1,200 (keys and values)
MAX_MAGNITUDE = 10**12  # as in rule expressions
MAX_NUMBER_TEXT = 40  # characters of one number as written

_TAG = "tag:yaml.org,2002:"
PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}
# characters YAML 1.1 allows in a stream (the C parser refuses the others with no line number)
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def pointer_join(base: str, key: str | int) -> str:
    """Append one reference token to a JSON pointer (RFC 6901 escaping)."""
    token = str(key).replace("~", "~0").replace("/", "~1")
    return f"{base}/{token}"


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # the C parser when libyaml is there
    """A safe loader that rejects duplicate keys (a silent override is a classic policy-edit bug)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first given on line {seen[key].start_mark.line + 1})",
                mark,
            )
        seen[key] = key_node
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Dates stay ISO strings: a rule file compares them as text and the schema checks their form.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    """A node the checks refuse: the message and the node to locate it by."""

    def __init__(self, message: str, node: yaml.Node):
        super().__init__(message)
        self.message, self.node = message, node


def _check_scalar(loader: _LineLoader, node: yaml.ScalarNode) -> None:
    if node.tag not in (f"{_TAG}int", f"{_TAG}float"):
        return
    if len(node.value) > MAX_NUMBER_TEXT:
        raise _Refused(f"a number written with {len(node.value):,} characters; at most {MAX_NUMBER_TEXT} are allowed",
                       node)
    try:
        number = loader.construct_object(node)
    except (ValueError, ArithmeticError, yaml.YAMLError):  # a resolved tag's text the constructor cannot read
        raise _Refused(f"{node.value!r} is not a number", node) from None
    problem = _number_problem(number, node.value)
    if problem:
        raise _Refused(problem, node)


def _check_key(node: yaml.Node) -> None:
    if not isinstance(node, yaml.ScalarNode):
        raise _Refused(f"a key must be text, not a {'list' if isinstance(node, yaml.SequenceNode) else 'mapping'}", node)
    if node.tag == f"{_TAG}merge":
        raise _Refused("a merge key (<<) is not allowed in a rule file; write the values out", node)
    if node.tag != f"{_TAG}str":
        raise _Refused(f"a key must be text, not {node.value!r} read as {node.tag.replace(_TAG, '!!')} (quote it if "
                       "it is meant as text)", node)


def _check_node(loader: _LineLoader, node: yaml.Node) -> None:
    """One node's own checks: its tag, its keys' kind, its number."""
    if node.tag not in PLAIN_TAGS:
        raise _Refused(f"the tag {node.tag.replace(_TAG, '!!')} is not allowed in a rule file (only text, numbers, "
                       "true/false, null, lists and mappings)", node)
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            _check_key(key_node)
    elif isinstance(node, yaml.ScalarNode):
        _check_scalar(loader, node)


def _check_nodes(loader: _LineLoader, root: yaml.Node) -> None:
    """Check every node once (an aliased node is shared), and measure the tree as its aliases expand it: its depth
    and its number of values; refuse an alias of a value that contains it."""
    measured: dict[int, tuple[int, int]] = {}  # node -> (values, depth) once expanded
    opened: set[int] = set()
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is None:  # first visit
            if key in measured:
                continue
            if key in opened:
                raise _Refused("an alias of a value that contains it (a recursive alias)", node)
            _check_node(loader, node)
            if isinstance(node, yaml.ScalarNode):
                measured[key] = (1, 1)
                continue
            children = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) \
                else list(node.value)
            opened.add(key)
            stack.append((node, children))
            stack.extend((child, None) for child in children if id(child) not in measured)
            continue
        size, depth = 1, 0
        for child in children:
            child_size, child_depth = measured[id(child)]
            size, depth = size + child_size, max(depth, child_depth)
        if depth + 1 > MAX_DEPTH:
            raise _Refused(f"values nest more than {MAX_DEPTH} levels deep", node)
        if size > MAX_VALUES:
            raise _Refused(f"more than {MAX_VALUES:,} values once aliases are expanded", node)
        measured[key] = (size, depth + 1)
        opened.discard(key)


def _number_problem(value: int | float, written: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"the number {written} is not finite (.inf and .nan are not rule values)"
    if abs(value) > MAX_MAGNITUDE:
        return f"the number {written} is larger than 10**12 in magnitude"
    return None


def plain_data_problem(value: Any) -> str | None:
    """Why a Python value is not data a rule file could hold (text, finite numbers, true/false, null, lists and
    mappings with text keys, within the depth and size bounds), or None when it is."""
    count, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_VALUES:
            return f"values nest more than {MAX_DEPTH} deep or hold more than {MAX_VALUES:,} values"
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return f"a key must be text, not {next(k for k in item if not isinstance(k, str))!r}"
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            problem = _number_problem(item, repr(item))
            if problem:
                return problem
        elif not (item is None or isinstance(item, str | bool)):
            return (f"a value of type {type(item).__name__} is not rule data (expected text, a number, true/false, "
                    "null, a list or a mapping)")
    return None


def _positions(node: yaml.Node, pointer: str, out: dict[str, tuple[int, int]]) -> None:
    out[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = pointer_join(pointer, key_node.value)
            _positions(value_node, child, out)
            # a key's own position is the better place to point at for "unknown key" errors
            out[child + "#key"] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _positions(item, pointer_join(pointer, index), out)


def _at(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _character(text: str, name: str) -> None:
    found = _NOT_PRINTABLE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
        raise RulebookError(Location(name, line, column), f"the character U+{ord(found.group()):04X} is not allowed in "
                            "YAML", "remove it, or write it as an escape in a double-quoted string")


def parse_yaml(text: str, name: str) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Parse YAML text of a rule file (or a what-if value) called ``name``; return its data and a map JSON pointer ->
    (line, column). Anything but bounded plain data is a RulebookError located at its line and column."""
    _character(text, name)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_nodes(loader, node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise RulebookError(Location(name, line, column), f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise RulebookError(Location(name), f"not valid YAML: {exc}") from None
    except _Refused as exc:
        line, column = _at(exc.node)
        raise RulebookError(Location(name, line, column), exc.message) from None
    finally:
        loader.dispose()
    positions: dict[str, tuple[int, int]] = {"": (1, 1)}  # an empty file is located at its start
    if node is not None:
        _positions(node, "", positions)
    return data, positions


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Load a rule file (a regular file of at most :data:`MAX_BYTES` of UTF-8); return its data and a map JSON
    pointer -> (line, column)."""
    name = display or str(path)
    return parse_yaml(read_text(path, RulebookError, "rule file", MAX_BYTES), name)
