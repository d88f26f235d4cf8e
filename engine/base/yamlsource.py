"""YAML loading that remembers where every value came from (line and column)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine.base.errors import Location, RulebookError


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


def load_yaml(path: Path, display: str | None = None) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Load a YAML file; return its data and a map JSON pointer -> (line, column)."""
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError(Location(name), f"cannot read file: {exc.strerror}") from None
    try:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        raise RulebookError(
            Location(name, line, column), f"not valid YAML: {exc.problem or exc.context}"
        ) from None
    positions: dict[str, tuple[int, int]] = {}
    if node is not None:
        _positions(node, "", positions)
    return data, positions
