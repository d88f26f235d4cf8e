"""Run fuzz cases in worker processes, each bounded in time and memory, and sort every outcome into one of four:
a clean result, a clean refusal (one of the engine's own error types), a traceback (any other exception), or a
hang (no answer within the time limit; the worker is killed and replaced).

A target is a module of ``fuzz.targets`` with

    KIND: str                                  # its name in reports
    def case(seed: int, index: int) -> Case    # deterministic: the same seed and index give the same case
    def run(case: Case) -> None                # feeds the case to the engine; raises what the engine raises

Cases that ended in a traceback or a hang can be written to ``fuzz/corpus/<kind>/`` and are replayed first on every
later run, so a crash once found stays a test.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import itertools
import json
import multiprocessing as mp
import resource
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from engine.base.errors import MipsError

CORPUS = Path(__file__).resolve().parent / "corpus"
OUTCOMES = ("result", "refusal", "traceback", "hang")


@dataclass(frozen=True)
class Case:
    """One fuzz input: a label saying how it was made, and a payload of JSON values, text or bytes."""

    label: str
    payload: Any

    def to_json(self) -> str:
        return json.dumps({"label": self.label, "payload": _encode(self.payload)}, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Case:
        data = json.loads(text)
        return Case(data["label"], _decode(data["payload"]))


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {"$dict": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return {"$float": repr(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$bytes" in value:
        return base64.b64decode(value["$bytes"])
    if isinstance(value, dict) and "$dict" in value:
        return {_decode(k): _decode(v) for k, v in value["$dict"]}
    if isinstance(value, dict) and "$float" in value:
        return float(value["$float"])
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


@dataclass
class Report:
    """The outcomes of one target's run, and where each traceback or hang came from."""

    kind: str
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str, Case]] = field(default_factory=list)  # (outcome, signature, case)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def signature(exc: BaseException) -> str:
    """The exception type and the innermost engine frame that raised it."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/engine/" in f.filename] or frames[-1:]
    where = f"{ours[-1].filename.split('/engine/')[-1]}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"


def classify(target: Any, case: Case) -> tuple[str, str]:
    try:
        target.run(case)
    except MipsError:
        return "refusal", ""
    except Exception as exc:  # noqa: BLE001 - sorting every other exception is the point
        return "traceback", signature(exc)
    return "result", ""


def _address_space() -> int:
    """Bytes of address space this process holds (a forked worker starts with its parent's)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _worker(module: str, memory: int, conn: Connection) -> None:
    limit = _address_space() + memory  # ``memory`` beyond what the worker inherits, however large its parent is
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    target = importlib.import_module(module)
    while True:
        message = conn.recv()
        if message is None:
            return
        case = Case.from_json(message)
        try:
            conn.send(classify(target, case))
        except MemoryError:
            conn.send(("traceback", "MemoryError"))


class _Worker:
    def __init__(self, module: str, memory: int):
        self.conn, child = mp.Pipe()
        self.process = mp.get_context("fork").Process(target=_worker, args=(module, memory, child), daemon=True)
        self.process.start()

    def ask(self, case: Case, timeout: float) -> tuple[str, str]:
        self.conn.send(case.to_json())
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass
            return "traceback", f"worker died (exit {self.process.exitcode})"
        self.stop()
        return "hang", f"no answer in {timeout:g} s"

    def stop(self) -> None:
        self.process.kill()
        self.process.join()


def corpus(kind: str) -> Iterator[Case]:
    for path in sorted((CORPUS / kind).glob("*.json")):
        yield Case.from_json(path.read_text())


def save(kind: str, case: Case) -> Path:
    folder = CORPUS / kind
    folder.mkdir(parents=True, exist_ok=True)
    text = case.to_json()
    path = folder / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    path.write_text(text + "\n")
    return path


def fuzz(module: str, seed: int, count: int, timeout: float = 10.0, memory: int = 2 << 30) -> Report:
    """Replay the target's corpus, then run ``count`` generated cases; every case ends in one of OUTCOMES. A case may
    take ``timeout`` seconds and ``memory`` bytes of address space beyond what the worker starts with."""
    target = importlib.import_module(module)
    report = Report(target.KIND)
    worker = _Worker(module, memory)
    cases = itertools.chain(corpus(target.KIND), (target.case(seed, i) for i in range(count)))
    for case in cases:
        outcome, where = worker.ask(case, timeout)
        report.counts[outcome] += 1
        if outcome in ("traceback", "hang"):
            report.failures.append((outcome, where, case))
            if not worker.process.is_alive():
                worker = _Worker(module, memory)
    worker.conn.send(None)
    worker.process.join(5)
    return report


def fed(feed: Any, payload: Any, longest: int) -> None:
    """Run ``feed(payload)``; a refusal passes through, but only with a message of at most ``longest`` characters
    (a refusal must never echo a whole hostile input)."""
    try:
        feed(payload)
    except MipsError as exc:
        assert len(str(exc)) <= longest, str(exc)[:200]
        raise
