"""Mutated rulebook folders, what-ifs, as-of dates and folder arguments: each is refused at load with a located
error, or loads and then scores every sample submission of its year (one at a time, explained, and as a batch).

A case changes one thing in a copy of a year's folder: one key deleted (every key of every file of every year is
deleted in turn as the index grows), a value swapped for another type or for an odd number (``.inf``, ``.nan``,
huge, negative, empty), the file's bytes damaged (not UTF-8, truncated, binary, huge), YAML made hostile (alias
bombs, Python tags, deep nesting, odd keys), the file replaced by a link outside the folder, a FIFO or a folder,
the reference data damaged; or it gives ``--set`` strings, an ``--as-of`` date or a folder argument.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from functools import cache
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

import yaml

import engine
from engine.rules.overrides import parse_override
from fuzz.harness import Case

KIND = "rulebooks"
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "rules"
REFERENCE = "reference/cms-measures.json"
HUGE = (64 << 20) + 1  # one byte over the largest input file the engine reads
WORKSPACE_PREFIX = "mips-fuzz-rulebooks-"

Payload = dict[str, Any]


@cache
def years() -> tuple[int, ...]:
    return tuple(sorted(int(p.name) for p in RULES.iterdir() if p.name.isdigit()))


@cache
def rule_files(year: int) -> tuple[str, ...]:
    return tuple(sorted(p.name for p in (RULES / str(year)).glob("*.yaml")))


@cache
def original(year: int, name: str) -> bytes:
    return (RULES / str(year) / name).read_bytes()


@cache
def parsed(year: int, name: str) -> Any:
    return yaml.load(original(year, name), Loader=yaml.CSafeLoader)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += [(*prefix, key), *_paths(value, (*prefix, key))]
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += [(*prefix, index), *_paths(value, (*prefix, index))]
    return found


@cache
def every_key() -> tuple[tuple[int, str, tuple[Any, ...]], ...]:
    """Every mapping key of every rule file of every year, in a fixed shuffled order (so any slice of cases
    deletes keys from many files)."""
    keys = [(year, name, path) for year in years() for name in rule_files(year)
            for path in _paths(parsed(year, name)) if not isinstance(path[-1], int)]
    random.Random("every key").shuffle(keys)
    return tuple(keys)


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=120)


def _copy(doc: Any) -> Any:
    return yaml.load(yaml.safe_dump(doc), Loader=yaml.CSafeLoader)


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        doc = doc[part]
    return doc


def _file_case(year: int, name: str, content: str | bytes, label: str, **extra: Any) -> Case:
    return Case(f"{label} in {year}/{name}", {"year": year, "file": name, "content": content, **extra})


# -- mutations of a file's data (re-dumped as YAML) ----------------------------------------------------------------

ODD_VALUES: list[Any] = [float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 5e-324, 10**30, -(10**30), 2**63,
                         -1, 0, -0.0, 0.5, "", [], {}, None, True, False, "x" * 5000, [None], {"": None}, "2020-01-01",
                         "45", [1, "a"], {"value": 1}, 10**12 + 1, 1e-13]


def _delete_key(rng: random.Random, index: int) -> Case:
    keys = every_key()
    year, name, path = keys[(index // len(GENERATORS)) % len(keys)]
    doc = _copy(parsed(year, name))
    del _parent(doc, path)[path[-1]]
    return _file_case(year, name, _dump(doc), f"deleted {'/'.join(map(str, path))}")


def _pick_path(rng: random.Random) -> tuple[int, str, Any, tuple[Any, ...]]:
    year = rng.choice(years())
    name = rng.choice(rule_files(year))
    doc = _copy(parsed(year, name))
    return year, name, doc, rng.choice(_paths(doc) or [()])


def _swap_value(rng: random.Random, index: int) -> Case:
    year, name, doc, path = _pick_path(rng)
    value = rng.choice(ODD_VALUES)
    if path:
        _parent(doc, path)[path[-1]] = value
    else:
        doc = value
    return _file_case(year, name, _dump(doc), f"{'/'.join(map(str, path))} = {str(value)[:20]}")


def _delete_item(rng: random.Random, index: int) -> Case:
    year, name, doc, path = _pick_path(rng)
    lists = [p for p in _paths(doc) if isinstance(p[-1], int)]
    if not lists:
        return _swap_value(rng, index)
    path = rng.choice(lists)
    del _parent(doc, path)[path[-1]]
    return _file_case(year, name, _dump(doc), f"deleted item {'/'.join(map(str, path))}")


def _number_value(rng: random.Random, index: int) -> Case:
    """A number of the file replaced by a non-finite, huge, tiny, negative or fractional one."""
    year, name, doc, _ = _pick_path(rng)
    numbers = [p for p in _paths(doc) if isinstance(_parent(doc, p)[p[-1]], int | float)
               and not isinstance(_parent(doc, p)[p[-1]], bool)]
    if not numbers:
        return _swap_value(rng, index)
    path = rng.choice(numbers)
    value = rng.choice([float("inf"), float("-inf"), float("nan"), 1e308, 10**30, -1, -0.5, 0, 1e-9, 0.123456789, 101,
                        2**64, 10**13, 3.5])
    _parent(doc, path)[path[-1]] = value
    return _file_case(year, name, _dump(doc), f"{'/'.join(map(str, path))} = {value}")


# -- mutations of a file's text or bytes -------------------------------------------------------------------------

def _pick_text(rng: random.Random) -> tuple[int, str, bytes]:
    year = rng.choice(years())
    name = rng.choice(rule_files(year))
    return year, name, original(year, name)


def _flip(rng: random.Random, data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if changed:
            changed[rng.randrange(len(changed))] = rng.randrange(256)
    return bytes(changed)


BYTE_DAMAGE: dict[str, Callable[[random.Random, bytes, int], bytes]] = {
    "insert": lambda rng, data, at: data[:at] + rng.choice(
        [b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80\x80", b"\xf4\x90\x80\x80"]) + data[at:],
    "truncate": lambda rng, data, at: data[:at],
    "flip": _flip,
    "garbage": lambda rng, data, at: rng.randbytes(rng.choice([1, 16, 4096])),
    "bom": lambda rng, data, at: b"\xef\xbb\xbf" + data,
    "utf16": lambda rng, data, at: data.decode().encode("utf-16"),
    "latin1": lambda rng, data, at: data[:at] + "é ü".encode("latin-1") + data[at:],
    "crlf": lambda rng, data, at: data.replace(b"\n", b"\r\n"),
    "tabs": lambda rng, data, at: data.replace(b"  ", b"\t", rng.randint(1, 5)),
    "nul": lambda rng, data, at: data[:at] + b"\x00" + data[at:],
    "control": lambda rng, data, at: data[:at] + bytes([rng.choice([1, 7, 8, 0x1B, 0x7F])]) + data[at:],
    "surrogate": lambda rng, data, at: data[:at] + "\ud800".encode("utf-8", "surrogatepass") + data[at:],
}


def _bytes(rng: random.Random, index: int) -> Case:
    year, name, data = _pick_text(rng)
    at = rng.randrange(len(data) + 1)
    how = rng.choice(sorted(BYTE_DAMAGE))
    return _file_case(year, name, BYTE_DAMAGE[how](rng, data, at), f"bytes {how} at {at}")


def _lines(rng: random.Random, index: int) -> Case:
    year, name, data = _pick_text(rng)
    lines = data.decode().splitlines(keepends=True)
    at = rng.randrange(len(lines))
    how = rng.choice(["delete", "duplicate", "indent", "dedent", "swap", "blank-key"])
    if how == "delete":
        del lines[at]
    elif how == "duplicate":
        lines.insert(at, lines[at])
    elif how == "indent":
        lines[at] = "  " + lines[at]
    elif how == "dedent":
        lines[at] = lines[at].lstrip(" ")
    elif how == "swap":
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    else:
        lines[at] = lines[at].split(":", 1)[0] + ":\n" if ":" in lines[at] else lines[at]
    return _file_case(year, name, "".join(lines), f"line {at + 1} {how}")


def _alias_bomb(levels: int, width: int) -> str:
    rows = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(rows)


HOSTILE_VALUES: list[str] = [
    "!!python/object/apply:os.system ['true']",
    "!!python/object/apply:subprocess.check_output [['id']]",
    "!!python/name:builtins.eval",
    "!!python/object/new:dict {}",
    "!!python/tuple [1, 2]",
    "!!python/module:os",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1]",
    "!!timestamp 2020-01-01",
    "!!float .inf",
    "!!float nan",
    "!!int 0x7fffffffffffffffffff",
    "!custom thing",
    "!<tag:example.com,2000:x> 1",
    "&r [*r]",
    "&m {a: *m}",
    "*undefined",
    ".inf",
    "-.Inf",
    ".NaN",
    "1e99999",
    "9" * 5000,
    "0b" + "1" * 200,
    "190:20:30",
    "0o777",
    "1_000",
    "~",
    "[" * 100 + "]" * 100,
    "[" * 100_000 + "]" * 100_000,
    "{a: " * 20_000 + "1" + "}" * 20_000,
    "- " * 5000 + "x",
    '"\\x00\\ud800"',
    "'" + "a" * 100_000 + "'",
    "{<<: {a: 1}}",
    "[*a, &a 1]",
]

ODD_KEYS: list[str] = [
    "? [a, b]\n: 1",
    "? {a: 1}\n: 2",
    "2020-01-01: x",
    "1: x",
    "null: x",
    "true: x",
    ".inf: 1",
    "'': x",
    "<<: {a: 1}",
    "a/b~c: 1",
    "x" * 2000 + ": 1",
    "!!python/name:os.system : 1",
    "? !!binary aGk=\n: 1",
    "'\\u0000': 1",
]


def _hostile_yaml(rng: random.Random, index: int) -> Case:
    year, name, data = _pick_text(rng)
    text = data.decode()
    lines = text.splitlines(keepends=True)
    valued = [i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith(("#", "-"))
              and not line.rstrip().endswith((">-", ">", "|"))]
    how = rng.choice(["value", "value", "key", "bomb", "bomb-file", "deep-block", "document"])
    if how == "value" and valued:
        at = rng.choice(valued)
        key = lines[at].split(": ", 1)[0]
        payload = rng.choice(HOSTILE_VALUES)
        lines[at] = f"{key}: {payload}\n"
        return _file_case(year, name, "".join(lines), f"value {payload[:30]!r} at line {at + 1}")
    if how == "key":
        key = rng.choice(ODD_KEYS)
        return _file_case(year, name, text.rstrip("\n") + "\n" + key + "\n", f"key {key[:30]!r}")
    if how in ("bomb", "value"):
        levels, width = rng.choice([(10, 9), (30, 2), (6, 9), (20, 10)])
        bomb = "bomb:\n" + _alias_bomb(levels, width) + "\n"
        return _file_case(year, name, text.rstrip("\n") + "\n" + bomb, f"alias bomb {levels}x{width}")
    if how == "bomb-file":
        rows = ["b0: &b0 [" + ", ".join(["x"] * 50) + "]"]
        rows += [f"b{i}: &b{i} [" + ", ".join([f"*b{i - 1}"] * 50) + "]" for i in range(1, 8)]
        return _file_case(year, name, "\n".join(rows) + "\n", "alias bomb file")
    if how == "deep-block":
        depth = rng.choice([50, 1000, 20_000])
        nested = "".join(f"{' ' * i}k:\n" for i in range(depth)) + " " * depth + "k: 1\n"
        return _file_case(year, name, nested, f"nested {depth} deep")
    return _file_case(year, name, text + "\n---\n" + text, "two documents")


def _huge(rng: random.Random, index: int) -> Case:
    year, name, data = _pick_text(rng)
    if rng.random() < 0.5:  # valid YAML a bit over a megabyte: a long list of values
        body = "filler:\n" + "  - 1\n" * rng.choice([1000, 200_000])
        return _file_case(year, name, data.decode() + body, "long file")
    return _file_case(year, name, "# " + "x" * 1000 + "\n", f"{HUGE:,} bytes", repeat=HUGE // 1003 + 1)


def _special(rng: random.Random, index: int) -> Case:
    year = rng.choice(years())
    name = rng.choice([*rule_files(year), REFERENCE])
    special = rng.choice(["link-outside", "link-inside", "link-dev-zero", "link-loop", "fifo", "directory", "missing",
                          "empty", "unknown-file", "link-etc"])
    return Case(f"{special} as {year}/{name}", {"year": year, "file": name, "special": special})


def _reference(rng: random.Random, index: int) -> Case:
    year = rng.choice(years())
    data = (RULES / str(year) / REFERENCE).read_bytes()
    how = rng.choice(["truncate", "nan", "deep", "huge-int", "drop", "type", "year", "garbage", "deciles"])
    if how == "truncate":
        data = data[: rng.randrange(len(data))]
    elif how == "nan":
        data = data.replace(b"100", b"NaN", 1) if rng.random() < 0.5 else data.replace(b"100", b"Infinity", 3)
    elif how == "deep":
        data = b"[" * 100_000 + b"]" * 100_000
    elif how == "huge-int":
        data = data.replace(b"100", b"9" * 5000, 1)
    elif how == "garbage":
        data = rng.randbytes(1000)
    else:
        doc = json.loads(data)
        if how == "drop":
            del doc[rng.choice(sorted(doc))]
        elif how == "type":
            doc[rng.choice(sorted(doc))] = rng.choice(ODD_VALUES[:20])
        elif how == "year":
            doc["performanceYear"] = rng.choice([1900, year + 1, -1, "2020", 10**20])
        else:
            key = rng.choice(sorted(doc["benchmarks"]))
            doc["benchmarks"][key]["deciles"] = rng.choice([[], [1e308] * 9, ["x"], [None] * 9, list(range(20))])
        data = json.dumps(doc).encode()
    return _file_case(year, REFERENCE, data, f"reference {how}")


# -- what-ifs, as-of dates and folder arguments --------------------------------------------------------------------

@cache
def addresses(year: int) -> tuple[str, ...]:
    book = engine.load(year)
    return tuple(sorted([*book.params, *book.rules]))


SET_VALUES: list[str] = [
    "60", "-1", "0", ".inf", ".nan", "-.inf", "1e308", "9" * 5000, "[1, 2", "{a: 1}", "{decimals: 4, rounding: half_up}",
    "{decimals: 40, rounding: half_up}", "{decimals: -1, rounding: up}", "&a [*a]", "!!python/name:os.system",
    "[" * 10_000, "'unterminated", "x" * 100_000, "", "~", "true", "2020-01-01", "[]", "{}", "- a\n- b", "a: b: c",
    "{quality: 50, cost: 0, ia: 25, pi: 25}", "{quality: 45}", "[mips, app1]", "\x00", "\ud800", "0x10", "1_0",
]
ODD_ADDRESSES: list[str] = ["", ".", "..", "a..b", "../../etc/passwd", "/etc/passwd", "quality", "quality.",
                            "quality.decile_points.value", "weights.tables.0", "weights.tables", "program.__class__",
                            "x" * 10_000, "quality.decile_points=", " ", "weights.tables.appendix_a.rows.0"]
AS_OF: list[str | None] = [None, "2021-09-27", "2022-03-01", "2022-04-25", "2020-02-30", "20200101", "2020-1-1",
                           "2020-01-01T00:00", "0000-01-01", "9999-12-31", "", "x" * 100_000, "２０２０-０１-０１",
                           "2020-01-01\n", "-2020-01-01", "2020/01/01", "+2020-01-01", "2020-13-01", "1e3"]


def _what_if(rng: random.Random, index: int) -> Case:
    year = rng.choice(years())
    sets = []
    for _ in range(rng.randint(0, 3)):
        address = rng.choice(addresses(year)) if rng.random() < 0.8 else rng.choice(ODD_ADDRESSES)
        sets.append(f"{address}={rng.choice(SET_VALUES)}" if rng.random() < 0.95 else address)
    return Case(f"--set {len(sets)} in {year}", {"year": year, "set": sets, "as_of": rng.choice(AS_OF)})


def _api_overrides(rng: random.Random, index: int) -> Case:
    """What-ifs given to the Python API: any JSON value at a real or odd address."""
    year = rng.choice(years())
    address = rng.choice(addresses(year)) if rng.random() < 0.8 else rng.choice(ODD_ADDRESSES)
    value = rng.choice(ODD_VALUES)
    return Case(f"api override {address[:30]} in {year}", {"year": year, "overrides": {address: value}})


ARGUMENTS: list[Any] = ["../../etc", "/", "/etc", "/dev/null", "/dev/zero", "/proc/self", "2020/../2017",
                        "rules/2020/../2017", "rules/../rules/2020", "rules/2020/program.yaml", "", " ", ".", "..",
                        "a\x00b", "9" * 5000, "-1", "0", "２０２０", "2020.0", "2020 ", " 2020", "~", "~/rules/2020",
                        "rules", "tests", "examples", "fuzz", "rules/2020/reference", "/tmp", "1" * 300, "x/" * 3000,
                        2020, 1999, 10**100, -2020, True, None, 2020.0, "empty-folder", "unknown-files-folder"]


def _argument(rng: random.Random, index: int) -> Case:
    argument = rng.choice(ARGUMENTS)
    return Case(f"folder argument {str(argument)[:30]!r}", {"argument": argument})


GENERATORS: list[Callable[[random.Random, int], Case]] = [
    _delete_key, _swap_value, _delete_key, _number_value, _delete_key, _bytes, _hostile_yaml, _lines, _delete_item,
    _special, _reference, _what_if, _api_overrides, _argument, _hostile_yaml, _huge,
]


def case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    generator = GENERATORS[index % len(GENERATORS)]
    if generator is _huge and (index // len(GENERATORS)) % 8:
        generator = _hostile_yaml  # huge files are slow to write: one case in 128
    return generator(rng, index)


# -- running a case ----------------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@cache
def workspace() -> Path:
    """A private copy of every year's folder, made once per worker; each case changes one file and restores it. The
    copy is removed when the worker ends; one left by a worker that was killed (a hang) is removed by the next."""
    for stale in Path(tempfile.gettempdir()).glob(f"{WORKSPACE_PREFIX}*"):
        pid = stale.name.removeprefix(WORKSPACE_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    place = Path(tempfile.mkdtemp(prefix=f"{WORKSPACE_PREFIX}{os.getpid()}-"))
    atexit.register(shutil.rmtree, place, ignore_errors=True)
    Finalize(None, shutil.rmtree, (place,), {"ignore_errors": True}, exitpriority=0)  # a worker process skips atexit
    for year in years():
        shutil.copytree(RULES / str(year), place / "books" / str(year))
    (place / "outside.yaml").write_bytes(original(years()[0], "program.yaml"))
    (place / "empty-folder").mkdir()
    (place / "unknown-files-folder").mkdir()
    (place / "unknown-files-folder" / "notes.yaml").write_text("a: 1\n")
    return place


@cache
def samples(year: int) -> tuple[tuple[Path, dict[str, Any] | None], ...]:
    """The year's real samples, plus golden cases with profiles (bonuses, groups, APM entities)."""
    found: list[tuple[Path, dict[str, Any] | None]] = []
    for path in sorted([*(ROOT / "tests" / "samples").glob("*.json"), *(ROOT / "examples").glob("*.json")]):
        if path.name.startswith(f"{year}-") and "response" not in path.name:
            found.append((path, None))
    golden = sorted((ROOT / "tests" / "golden" / str(year)).glob("*/profile.yaml"))
    for profile in golden[:: max(1, len(golden) // 3)]:
        found.append((profile.parent / "submission.json", yaml.safe_load(profile.read_text())))
    return tuple(found)


def score_all(book: Any, year: int) -> None:
    """Score, explain and batch-score every sample of ``year`` with ``book``."""
    documents, profiles = [], []
    for path, profile in samples(year):
        result = engine.score(path, book, profile=profile)
        engine.explain(result)
        documents.append(path)
        profiles.append(profile or {})
    engine.score_many(documents, book, profiles=profiles)


def _place(folder: Path, name: str, special: str) -> None:
    target = folder / name
    target.unlink()
    outside = workspace() / "outside.yaml"
    if special == "link-outside":
        target.symlink_to(outside)
    elif special == "link-inside":
        target.symlink_to(folder / "program.yaml" if name != "program.yaml" else folder / "final.yaml")
    elif special == "link-dev-zero":
        target.symlink_to("/dev/zero")
    elif special == "link-etc":
        target.symlink_to("/etc/passwd")
    elif special == "link-loop":
        target.symlink_to(target)
    elif special == "fifo":
        os.mkfifo(target)
    elif special == "directory":
        target.mkdir()
    elif special == "empty":
        target.write_bytes(b"")
    elif special == "unknown-file":
        target.write_bytes(original_of(folder, name))
        (folder / "extra.yaml").write_text("a: 1\n")


def original_of(folder: Path, name: str) -> bytes:
    return (RULES / folder.name / name).read_bytes()


def restore(folder: Path, name: str) -> None:
    target = folder / name
    if target.is_dir() and not target.is_symlink():
        target.rmdir()
    elif target.exists() or target.is_symlink():
        target.unlink()
    target.write_bytes(original_of(folder, name))
    extra = folder / "extra.yaml"
    if extra.exists():
        extra.unlink()


def _folder_case(payload: Payload) -> None:
    year = payload["year"]
    folder = workspace() / "books" / str(year)
    name = payload["file"]
    try:
        if "special" in payload:
            _place(folder, name, payload["special"])
        else:
            content = payload["content"]
            data = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
            (folder / name).write_bytes(data * payload.get("repeat", 1))
        book = engine.load(folder)
    finally:
        restore(folder, name)
    score_all(book, year)


def _argument_case(argument: Any) -> None:
    if argument in ("empty-folder", "unknown-files-folder"):
        argument = str(workspace() / argument)
    book = engine.load(argument)
    if book.year in years():
        score_all(book, book.year)


def run(case: Case) -> None:
    payload: Payload = case.payload
    if "argument" in payload:
        _argument_case(payload["argument"])
    elif "file" in payload:
        _folder_case(payload)
    elif "set" in payload:
        overrides = dict(parse_override(item) for item in payload["set"])
        score_all(engine.load(payload["year"], overrides, payload["as_of"]), payload["year"])
    else:
        score_all(engine.load(payload["year"], payload["overrides"]), payload["year"])
