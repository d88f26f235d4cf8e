"""Hostile submissions: the QPP sample files mutated in structure, numbers, size, nesting and encoding, fed to the
engine as files, as text, as parsed documents and as batches; every result's feedback is rendered too.

A payload is ``{"via": ..., "doc": ..., "grow": [...], "text": [...]}``: ``doc`` is a JSON document (or bytes),
``grow`` lists expansions made only when the case runs (deep nesting, long lists: they would not fit a case file),
and ``text`` lists edits of the serialized file (truncation, a BOM, bytes that are not UTF-8, literals JSON does not
allow)."""

from __future__ import annotations

import copy
import json
import os
import random
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import engine
from engine.inputs.submission import read_submission
from fuzz.harness import Case, fed

KIND = "submissions"
ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "tests" / "samples").glob("*.json")) + sorted((ROOT / "examples").glob("*.json"))
YEARS = (2017, 2020, 2021, 2022)
GROWN_BYTES = 20 << 20
LONGEST_MESSAGE = 2_000  # an error or issue message longer than this echoes the input

JUNK: list[Any] = [None, True, False, 0, -1, 1.5, -0.0, "", "x", "2020", "ünïcödé ✓", [], {}, [None], {"": None},
                   float("nan"), float("inf"), float("-inf"), 10**400, -(10**400), 2**63, 2**53 + 1, 1e308, 1e-320,
                   2**53, -(2**53), 1e15, 9007199254740991.0, 123456789.123456789, 72.12345, 1e-7,
                   "x" * 100_000, "\x00\ud800", [[[[]]]], {"value": {"numerator": 1}}]
YEARS_JUNK: list[Any] = [1999, 2019, 2023, "2020", 2020.0, 2020.5, True, -1, 10**12, None, float("nan")]
COUNT_KEYS = ("performanceMet", "performanceNotMet", "eligiblePopulation", "eligiblePopulationExclusion",
              "eligiblePopulationException", "numerator", "denominator")
BAD_LITERALS = ("NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1E400", "1" + "0" * 400, "1" + "0" * 5000,
                "0." + "0" * 5000 + "1", "-0", "1.0e-400", "01", "0x10", "+1", "true1")


@cache
def _sources() -> list[tuple[int, Any]]:
    return [(int(p.name[:4]), json.loads(p.read_text(encoding="utf-8"))) for p in FILES]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _at(doc: Any, path: tuple | list) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    _at(doc, path[:-1])[path[-1]] = value
    return doc


def _count_paths(doc: Any) -> list[tuple]:
    return [p for p in _paths(doc) if p and p[-1] in COUNT_KEYS]


def _list_paths(doc: Any) -> list[tuple]:
    return [p for p in _paths(doc) if isinstance(_at(doc, p), list)]


def _mutate(doc: Any, rng: random.Random, dict_keys: bool) -> tuple[Any, list[list], str]:
    """One structural mutation: the document, any expansions to make when run, and a label."""
    paths = _paths(doc)
    path = rng.choice(paths)
    target = _at(doc, path)
    choice = rng.randrange(12)
    if choice < 4:
        return _set(doc, path, copy.deepcopy(rng.choice(JUNK))), [], "swap"
    if choice == 4 and isinstance(target, dict) and target:
        del target[rng.choice(list(target))]
        return doc, [], "delete"
    if choice == 5 and isinstance(target, dict):
        key: Any = rng.choice([1, None, 2.5, True]) if dict_keys and rng.random() < 0.5 else rng.choice(["zzz", "", "id"])
        target[key] = copy.deepcopy(rng.choice(JUNK))
        return doc, [], "unknown key"
    if choice == 6 and _count_paths(doc):
        count = rng.choice(_count_paths(doc))
        return _set(doc, count, rng.choice([-1, -5, 10**9, 10**9 + 1, 10**6, 0.5, 1.00001, 12345.6789])), [], "count"
    if choice == 7 and isinstance(doc, dict):
        doc["performanceYear"] = rng.choice(YEARS_JUNK)
        return doc, [], "year"
    if choice == 8:
        return doc, [[list(path), "nest", rng.choice([40, 100, 990, 1_000, 5_000, 100_000])]], "deep"
    if choice == 9 and _list_paths(doc):
        grown = rng.choice(_list_paths(doc))
        return doc, [[list(grown), "repeat", rng.choice([200, 1_000, 10_000, 100_000])]], "long list"
    if choice == 10 and isinstance(target, list) and target:
        target.append(copy.deepcopy(rng.choice(target)))
        return doc, [], "duplicate item"
    return _set(doc, path, copy.deepcopy(rng.choice(JUNK))), [], "swap"


def _text_edit(rng: random.Random) -> list:
    choice = rng.randrange(9)
    if choice == 0:
        return ["truncate", rng.random()]
    if choice == 1:
        return ["bom"]
    if choice == 2:
        return ["insert", rng.random(), rng.choice([b"\xff", b"\xc3\x28", b"\xe9", b"\x00", b"\xed\xa0\x80"]).hex()]
    if choice == 3:
        return ["empty"]
    if choice == 4:
        return ["duplicate key"]
    if choice == 5:
        return ["noise", rng.randrange(1 << 30)]
    if choice == 6:
        return ["deep text", rng.choice([1_000, 100_000, 1_000_000])]
    return ["literal", rng.random(), rng.choice(BAD_LITERALS)]


def case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    year, doc = rng.choice(_sources())
    doc = copy.deepcopy(doc)
    via = rng.choice(["file", "file", "text", "dict", "dict", "batch", "special"] if index % 50 else ["special"])
    if via == "special":
        return Case("special file", {"via": via, "what": rng.choice(["fifo", "zero", "dir", "missing", "link"])})
    labels, grow = [], []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        doc, more, label = _mutate(doc, rng, via in ("dict", "batch"))
        grow += more if not grow else []  # one expansion per case keeps it bounded
        labels.append(label)
    payload: dict[str, Any] = {"via": via, "doc": doc, "grow": grow, "year": rng.choice([year, year, year, None, 2020])}
    if via in ("file", "text") and rng.random() < 0.4:
        payload["text"] = [_text_edit(rng)]
        labels.append(payload["text"][0][0])
    if via == "batch":
        others = [copy.deepcopy(rng.choice(_sources())[1]) for _ in range(rng.randrange(4))]
        payload["others"] = [_mutate(o, rng, True)[0] if rng.random() < 0.5 else o for o in others]
        payload["year"] = year
    return Case(f"{via}: {', '.join(labels) or 'as is'}", payload)


def _nest(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"value": value}
    return value


def _nest_text(inner: str, depth: int) -> str:
    """``_nest`` as JSON text, built without recursion."""
    opens = "".join("[" if level % 2 else '{"value": ' for level in reversed(range(depth)))
    return opens + inner + "".join("]" if level % 2 else "}" for level in range(depth))


def _grow(doc: Any, grow: list[list], splices: dict[str, tuple[Any, int]] | None = None) -> Any:
    """Make the payload's expansions; with ``splices``, deep nesting is left as a marker to splice in as text."""
    for path, how, n in grow:
        try:
            target = _at(doc, path)
        except (KeyError, IndexError, TypeError):
            continue
        if how == "nest" and splices is not None:
            marker = f"@@nest{len(splices)}@@"
            splices[marker] = (target, n)
            doc = _set(doc, tuple(path), marker)
        elif how == "nest":
            doc = _set(doc, tuple(path), _nest(target, n))
        elif isinstance(target, list) and target:
            size = len(json.dumps(target, default=repr)) // len(target) + 1
            target.extend(target[i % len(target)] for i in range(min(n, GROWN_BYTES // size)))  # under ~20 MB
    return doc


def _edit(data: bytes, edit: list) -> bytes:
    how = edit[0]
    if how == "truncate":
        return data[: int(len(data) * edit[1])]
    if how == "bom":
        return b"\xef\xbb\xbf" + data
    if how == "insert":
        at = int(len(data) * edit[1])
        return data[:at] + bytes.fromhex(edit[2]) + data[at:]
    if how == "empty":
        return b""
    if how == "duplicate key":
        return data.replace(b"{", b'{"performanceYear": 1999, "measurementSets": 5, ', 1)
    if how == "noise":
        return random.Random(edit[1]).randbytes(200)
    if how == "deep text":
        return b"[" * edit[1] + b"]" * edit[1] if edit[1] < 10**6 else b'{"a":' * edit[1]
    digits = [i for i, c in enumerate(data) if 48 <= c <= 57]  # literal: a number replaced
    if not digits:
        return data
    at = digits[int(len(digits) * edit[1])]
    end = at
    while end < len(data) and data[end] in b"0123456789.eE+-":
        end += 1
    return data[:at] + edit[2].encode() + data[end:]


def _file(payload: dict) -> bytes:
    splices: dict[str, tuple[Any, int]] = {}
    doc = _grow(payload["doc"], payload.get("grow", []), splices)
    text = doc.decode("latin-1") if isinstance(doc, bytes) else json.dumps(doc)
    for marker, (inner, depth) in splices.items():
        text = text.replace(json.dumps(marker), _nest_text(json.dumps(inner), depth), 1)
    data = text.encode("latin-1") if isinstance(doc, bytes) else text.encode()
    for edit in payload.get("text", []):
        data = _edit(data, edit)
    return data


@cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-submissions-"))


def _special(what: str) -> Path:
    path = _folder() / what
    if path.exists() or path.is_symlink():
        return path
    if what == "fifo":
        os.mkfifo(path)
    elif what == "dir":
        path.mkdir()
    elif what in ("zero", "link"):
        path.symlink_to("/dev/zero")
    return path


def _check(result: Any) -> None:
    text = engine.explain(result)
    assert isinstance(text, str) and text
    for issue in result.document["issues"]:
        assert len(issue["message"]) <= LONGEST_MESSAGE, issue["message"][:200]


def _feed(payload: dict) -> None:
    via, year = payload["via"], payload.get("year")
    if via == "special":
        engine.score(_special(payload["what"]), 2020)
        return
    if via == "file":
        path = _folder() / "submission.json"
        path.write_bytes(_file(payload))
        try:
            _check(engine.score(path, year))
        finally:
            path.unlink()  # a worker ends without clean-up; no large file is left behind
    elif via == "text":
        _check(engine.score(read_submission("submission.json", _file(payload).decode("utf-8", "replace")), year))
    elif via == "dict":
        _check(engine.score(_grow(payload["doc"], payload.get("grow", [])), year))
    else:
        items = [_grow(payload["doc"], payload.get("grow", [])), *payload.get("others", [])]
        batch = engine.score_many(items, year)
        positions = [p for p, _ in batch.refused]
        assert len(batch.sources) + len(positions) == len(items) and len(set(positions)) == len(positions), batch
        assert all(len(message) <= LONGEST_MESSAGE for _, message in batch.refused)


def run(case: Case) -> None:
    fed(_feed, case.payload, LONGEST_MESSAGE)
