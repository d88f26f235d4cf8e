"""The checks a profile read from its typed columns gets, over whole columns, with the outcome of
``engine.inputs.profile.check_profile`` on the same profile as JSON: the plain-data bounds (strings of at most
MAX_TEXT characters, finite numbers within ±2**53, lists of at most MAX_ITEMS items), the profile schema
(``schemas/profile.schema.json``: required properties, items, unique items, minimum and maximum) and the percents'
decimals. The schema is walked, not restated: a keyword these checks do not implement makes ``supported`` false, and
such a rulebook's rows are read as JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from engine.base.numbers import excerpt
from engine.base.schemas import validator
from engine.batch.typed import decimals
from engine.batch.typed.checks import bad_numbers, first_in, out_of_bounds, too_long
from engine.batch.typed.findings import Findings
from engine.batch.typed.levels import Levels, floats, ints, lengths, nested, nulls, numbered
from engine.inputs.profile import MAX_ITEMS, PERCENT_DECIMALS, PERCENT_FACTS
from engine.inputs.submission import MAX_TEXT

CHECKED = {"type", "properties", "required", "additionalProperties", "items", "uniqueItems", "minimum", "maximum",
           "description", "title", "$schema", "$id"}  # the schema keywords these checks implement


@dataclass(frozen=True)
class Node:
    """A place in the profile: its schema, its values (one per element of its level), each element's row, and each
    element's path."""

    schema: Mapping[str, Any]
    values: pa.Array
    owner: np.ndarray
    path: Callable[[int], str]
    address: str  # the path without list indexes: profile.costMeasures[].score

    @property
    def column(self) -> str:
        return self.address.split(".")[1].removesuffix("[]")


@functools.cache
def _schema() -> Mapping[str, Any]:
    return cast(Mapping[str, Any], validator("profile.schema.json").schema)


def _keywords(schema: Mapping[str, Any]) -> set[str]:
    found = set(schema)
    for sub in schema.get("properties", {}).values():
        found |= _keywords(sub)
    if "items" in schema:
        found |= _keywords(schema["items"])
    return found


def supported() -> bool:
    """Whether every keyword of the profile schema is one these checks implement."""
    return _keywords(_schema()) <= CHECKED


def _child(node: Node, name: str) -> Node:
    """A property of an object place."""
    parent = node.path
    return Node(node.schema["properties"][name], pc.struct_field(node.values, name), node.owner,
                lambda i: f"{parent(i)}.{name}", f"{node.address}.{name}")


def _items(node: Node) -> Node:
    """The items of an array place, as a place of their own."""
    level, parent = nested(node.values), node.path
    return Node(node.schema["items"], level.values, node.owner[level.parent],
                lambda i: f"{parent(int(level.parent[i]))}[{int(level.place[i])}]", f"{node.address}[]")


def _nodes(node: Node) -> Iterator[Node]:
    yield node
    if node.schema["type"] == "object":
        for name in node.schema["properties"]:
            yield from _nodes(_child(node, name))
    elif node.schema["type"] == "array":
        yield from _nodes(_items(node))


def nodes(lv: Levels) -> list[Node]:
    """Every place of the profile schema, over the batch's profile columns."""
    everyone, properties = np.arange(lv.size), _schema()["properties"]
    return [node for name in properties
            for node in _nodes(Node(properties[name], lv.rows[name], everyone, _named(name), f"profile.{name}"))]


def _named(name: str) -> Callable[[int], str]:
    return lambda i: f"profile.{name}"


def _refuse(findings: Findings, node: Node, failed: np.ndarray, problem: Callable[[int], str]) -> None:
    findings.refuse(node.owner, failed, lambda i: f"at {node.path(i)} (column {node.column}): not a profile: {problem(i)}")


def _longest(node: Node, size: np.ndarray, limit: int, what: str) -> Callable[[int], str]:
    return lambda i: f"{int(size[i]):,} {what}; at most {limit:,} are read" + (" here" if what == "items" else "")


def plain(findings: Findings, places: list[Node]) -> None:
    """Strings of at most MAX_TEXT characters, finite numbers within ±2**53, lists of at most MAX_ITEMS items."""
    for node in places:
        kind = node.schema["type"]
        if kind == "string" and too_long(node.values):
            size = ints(pc.utf8_length(node.values))
            _refuse(findings, node, size > MAX_TEXT, _longest(node, size, MAX_TEXT, "characters"))
        elif kind in ("number", "integer") and out_of_bounds(node.values):
            bad, problem = bad_numbers(node.values)
            _refuse(findings, node, bad, problem)
        elif kind == "array":
            size = lengths(node.values)
            _refuse(findings, node, size > MAX_ITEMS, _longest(node, size, MAX_ITEMS, "items"))


def _required(name: str) -> Callable[[int], str]:
    return lambda i: f"{name!r} is a required property"


def _bound(values: np.ndarray, keyword: str, bound: Any) -> Callable[[int], str]:
    return lambda i: f"{excerpt(values[i].item())} is not within the {keyword} {bound}"


def schema(findings: Findings, places: list[Node]) -> None:
    """Required properties, items that are there and unique where asked, minimums and maximums."""
    for node in places:
        spec, present = node.schema, ~nulls(node.values)
        for name in spec.get("required", ()):
            _refuse(findings, node, present & nulls(pc.struct_field(node.values, name)), _required(name))
        if spec["type"] == "array":
            _items_there(findings, node)
        if spec["type"] in ("number", "integer"):
            values = floats(node.values) if spec["type"] == "number" else ints(node.values)
            if "minimum" in spec:
                _refuse(findings, node, present & (values < spec["minimum"]), _bound(values, "minimum", spec["minimum"]))
            if "maximum" in spec:
                _refuse(findings, node, present & (values > spec["maximum"]), _bound(values, "maximum", spec["maximum"]))


def _items_there(findings: Findings, node: Node) -> None:
    """An array's items are there (no null), and unique where the schema asks."""
    item = _items(node)
    there = ~nulls(item.values)
    kind = node.schema["items"]["type"]
    _refuse(findings, item, ~there, lambda i: f"null is not of type {kind!r}")
    if node.schema.get("uniqueItems"):
        values = item.values
        _refuse(findings, item, there & ~first_in(nested(node.values).parent, numbered(values), there),
                lambda i: f"{excerpt(values[i].as_py())} is repeated (the items must be unique)")


def _decimals(values: np.ndarray) -> Callable[[int], str]:
    return lambda i: f"{float(values[i])} has more than {PERCENT_DECIMALS} decimals; a percent is read to {PERCENT_DECIMALS}"


def percents(findings: Findings, places: list[Node]) -> None:
    """A percent the profile gives has at most PERCENT_DECIMALS decimals."""
    wanted = {f"profile.{parent}.{key}" for parent, key in PERCENT_FACTS}
    for node in places:
        if node.address in wanted:
            values, present = floats(node.values), ~nulls(node.values)
            _, exact = decimals.counts(values, PERCENT_DECIMALS, "floor")
            _refuse(findings, node, present & ~exact, _decimals(values))


def check(findings: Findings, lv: Levels) -> None:
    """Every profile check, in the order the JSON path makes them."""
    places = nodes(lv)
    plain(findings, places)
    schema(findings, places)
    percents(findings, places)
