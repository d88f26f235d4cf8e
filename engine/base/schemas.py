"""JSON Schema validation with errors that say where and what was expected."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from engine.base.locations import schemas_dir
from engine.base.yamlsource import pointer_join


@cache
def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def validator(relative: str) -> Draft202012Validator:
    """A validator for ``schemas/<relative>``, with sibling schemas resolvable by ``$id``."""
    path = schemas_dir() / relative
    registry: Registry = Registry()
    for sibling in path.parent.glob("*.schema.json"):
        schema = _load(sibling)
        registry = registry.with_resource(schema.get("$id", sibling.name), Resource.from_contents(schema))
    return Draft202012Validator(_load(path), registry=registry)


def _pointer(error: ValidationError) -> str:
    pointer = ""
    for part in error.absolute_path:
        pointer = pointer_join(pointer, part)
    return pointer


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """oneOf/allOf wrap the useful errors. Of oneOf branches, drop those whose discriminator (a
    ``const``, such as a rule file's ``mechanism``) does not match; then report the deepest errors."""
    if not error.context:
        yield error
        return
    context = list(error.context)
    if error.validator in ("oneOf", "anyOf"):
        branches: dict[Any, list[ValidationError]] = {}
        for sub in context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        matching = [errs for errs in branches.values() if not any(e.validator == "const" for e in errs)]
        if matching:
            context = min(matching, key=len)
    best = max(len(e.absolute_path) for e in context)
    for sub in context:
        if len(sub.absolute_path) == best:
            yield from _leaf_errors(sub)


def _describe(error: ValidationError) -> tuple[str, str | None, str]:
    """Message, did-you-mean hint and the pointer to report for one schema error."""
    pointer = _pointer(error)
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        name = extra[0] if extra else "?"
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else None
        expected = f"one of {', '.join(allowed)}" if allowed else "no keys"
        return f"unknown key {name!r}; expected {expected}", hint, pointer_join(pointer, name)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required key {missing!r}", None, pointer
    if error.validator == "enum":
        choices = [str(c) for c in error.validator_value]  # type: ignore[union-attr]
        hint = None
        if isinstance(error.instance, str):
            close = difflib.get_close_matches(error.instance, choices, n=1)
            hint = f"did you mean {close[0]!r}?" if close else None
        return _short(f"{error.instance!r}", 80) + f" is not allowed; expected one of {', '.join(choices)}", hint, pointer
    if error.validator == "const":
        return _short(f"{error.instance!r}", 80) + f" is not allowed; expected {error.validator_value!r}", None, pointer
    if error.validator == "type":
        return f"expected {error.validator_value}, found {_kind(error.instance)}", None, pointer
    return _short(error.message), None, pointer


def _short(text: str, limit: int = 200) -> str:
    """A message quoting a value, cut to ``limit`` characters (a value may be a whole mapping or a long text)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _kind(value: Any) -> str:
    """A value as a message describes it: its kind, and the value itself when it is short."""
    if value is None:
        return "null (nothing)"
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)
    return kind if isinstance(value, dict | list) else _short(f"{kind} {value!r}", 80)


def schema_errors(relative: str, instance: Any) -> list[tuple[str, str | None, str]]:
    """Every problem with ``instance`` as (message, hint, JSON pointer), in document order."""
    found = []
    for error in validator(relative).iter_errors(instance):
        for leaf in _leaf_errors(error):
            found.append(_describe(leaf))
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda item: item[2])
