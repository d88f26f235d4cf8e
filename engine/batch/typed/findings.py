"""What the checks of a batch decide about its rows: refused (with the message naming where in the row and what was
expected), or sent to the JSON path (rows holding JSON text). A row keeps the first decision taken about it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def first_per_row(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of ``rows`` (element rows, in row order) and the index of each one's first element."""
    found, first = np.unique(rows, return_index=True)
    return found, first


def json_path(*parts: str | int) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


class Findings:
    """The rows of a batch refused so far, with why, and those left to the JSON path."""

    def __init__(self, size: int):
        self.refused: dict[int, str] = {}
        self.fallback = np.zeros(size, dtype=bool)
        self.decided = np.zeros(size, dtype=bool)

    def refuse(self, element_rows: np.ndarray, failed: np.ndarray, message: Callable[[int], str]) -> None:
        """Refuse each undecided row with an element where ``failed`` holds, saying ``message(element)`` of its first."""
        self._decide(element_rows, failed, message)

    def to_json(self, element_rows: np.ndarray, failed: np.ndarray) -> None:
        """Leave each undecided row with an element where ``failed`` holds to the JSON path."""
        self._decide(element_rows, failed, None)

    def _decide(self, element_rows: np.ndarray, failed: np.ndarray, message: Callable[[int], str] | None) -> None:
        elements = np.flatnonzero(failed)
        if not len(elements):
            return
        rows = element_rows[elements]
        open_ = ~self.decided[rows]
        rows, elements = rows[open_], elements[open_]
        found, first = first_per_row(rows)
        self.decided[found] = True
        if message is None:
            self.fallback[found] = True
            return
        for row, element in zip(found.tolist(), elements[first].tolist(), strict=True):
            self.refused[row] = message(element)

    @property
    def typed(self) -> np.ndarray:
        """Rows neither refused nor left to the JSON path."""
        return ~self.decided
