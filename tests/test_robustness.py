"""Damaged submissions: every one is scored (with its problems reported by JSON path) or refused
with a message; none ends in an unexpected exception."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from engine import load, score
from engine.base.errors import MipsError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "tests" / "golden").glob("*/*/submission.json")) + sorted(
    p for p in (ROOT / "tests" / "samples").glob("*.json") if "response" not in p.name)
JUNK: list[Any] = [None, -1, 1.5, "x", "", [], {}, True, 10**9]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _damage(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_paths(doc)[1:] or [()])
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if rng.random() < 0.3 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(JUNK)
    return doc


@pytest.mark.parametrize("seed", range(12))
def test_damaged_submissions_are_scored_or_refused(seed: int) -> None:
    rng = random.Random(seed)
    books = {}
    for source in SOURCES:
        doc = _damage(json.loads(source.read_text()), rng)
        year = 2020
        try:
            year = int(json.dumps(doc).split('"performanceYear": ')[1][:4])
        except (IndexError, ValueError):
            pass
        if year not in books:
            books[year] = load(year if (ROOT / "rules" / str(year)).is_dir() else 2020)
        book = books[year]
        try:
            result = score(doc, book)
        except MipsError as exc:
            assert str(exc), source
            continue
        for issue in result.document["issues"]:
            assert issue["path"].startswith(("$", "profile")), issue
            assert issue["message"]
