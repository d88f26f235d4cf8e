"""Which final score each TIN/NPI receives when several scored entities cover it, by the year's hierarchy.

The hierarchy is data (``hierarchy.yaml``): steps in order of precedence, each naming the kinds of scored entity
it takes a score from. For each TIN/NPI the first step with a scored candidate decides and the step's highest
final score is used; on equal scores the source listed first in the step wins, then the candidate listed first
(memberships in input order). A candidate whose kind no step names (a virtual group in a year without them) is
listed but never used. A membership whose entity has no final score is no candidate.

Everything is columns: candidates are found by sorted look-ups on integer-coded keys and the best one per TIN/NPI
by a grouped minimum of one packed rank (``np.minimum.at``), never a loop over TIN/NPIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine.base.errors import Location, RulebookError, RulebookErrors
from engine.rules.model import Rulebook

KINDS = ("individual", "group", "virtual_group", "apm_entity")  # the kinds of scored entity a step may name
NO_SCORE = "no_score"  # the reason code of a TIN/NPI that no scored entity covers
STEPS = "hierarchy.steps."


@dataclass(frozen=True)
class Step:
    """One step of the hierarchy: its name (the reason code of a score it picks), the kinds it takes a score
    from (on equal scores the first listed wins), and where it comes from."""

    name: str
    sources: tuple[str, ...]
    cite: tuple[str, ...]
    unverified: str | None


@dataclass(frozen=True)
class HierarchyParams:
    steps: tuple[Step, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)


def hierarchy_params(book: Rulebook) -> HierarchyParams:
    """The year's steps in file order; a kind named by two steps is a rulebook error."""
    known = book.memo.get("hierarchy")
    if known is not None:
        return known
    steps: list[Step] = []
    owner: dict[str, str] = {}
    errors: list[RulebookError] = []
    for address in [a for a in book.params if a.startswith(STEPS)]:
        param = book.param(address)
        name = address.removeprefix(STEPS)
        for source in param.value["sources"]:
            if source in owner:
                errors.append(RulebookError(Location(param.file, param.line, None, address),
                                            f"{source} is already a source of step {owner[source]}",
                                            "name each kind of scored entity in one step only"))
            owner[source] = name
        steps.append(Step(name, tuple(param.value["sources"]), param.cite, param.unverified))
    if errors:
        raise RulebookErrors(errors)
    result = HierarchyParams(tuple(steps))
    book.memo["hierarchy"] = result
    return result


@dataclass(frozen=True)
class Memberships:
    """TIN/NPIs' memberships of entities of one kind, one element per membership."""

    row: np.ndarray  # the TIN/NPI: its position in ``Relations``
    entity: np.ndarray  # the virtual group's or APM Entity's id


@dataclass(frozen=True)
class Relations:
    """The TIN/NPIs (one element each) and the virtual groups (at most one each) and APM Entities (any number) they
    belong to. Ids may be of any sortable dtype; integers are the fastest."""

    tin: np.ndarray
    npi: np.ndarray
    virtual_group: Memberships
    apm_entity: Memberships


@dataclass(frozen=True)
class Scores:
    """The final scores (fixed point) of the scored entities of one kind, by key: (TIN, NPI) for an individual,
    (TIN,) for a group, (id,) for a virtual group or an APM Entity. A key given twice is refused."""

    keys: tuple[np.ndarray, ...]
    score: np.ndarray


@dataclass(frozen=True)
class Candidates:
    """Every final score that covers a TIN/NPI, one element each, by kind (in KINDS order) and then in the order
    of the TIN/NPIs or memberships."""

    row: np.ndarray  # the TIN/NPI
    kind: np.ndarray  # index into KINDS
    entity: np.ndarray  # position in that kind's Scores
    score: np.ndarray
    step: np.ndarray  # index into the hierarchy's steps; -1 where no step names the kind
    chosen: np.ndarray  # the candidate whose score the TIN/NPI receives


@dataclass(frozen=True)
class Choice:
    """Per TIN/NPI: the final score used, where it came from and why, and every candidate considered."""

    score: np.ndarray  # fixed point; 0 where no candidate
    kind: np.ndarray  # index into KINDS; -1 where no candidate
    entity: np.ndarray  # position in that kind's Scores; -1 where no candidate
    step: np.ndarray  # index into ``steps``; -1 where no candidate
    considered: np.ndarray  # how many candidates the TIN/NPI had (used or not)
    candidates: Candidates
    steps: tuple[str, ...]

    def reason(self) -> np.ndarray:
        """The reason code per TIN/NPI: the name of the step that decided, or NO_SCORE."""
        return np.asarray((*self.steps, NO_SCORE))[self.step]

    def source(self) -> np.ndarray:
        """The kind of scored entity the score came from per TIN/NPI ('' where none)."""
        return np.asarray((*KINDS, ""))[self.kind]


def _column_codes(mine: np.ndarray, asked: np.ndarray, room: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One key column of a table and of a query as integers from 0, equal where the ids are equal, and how many
    codes there are: integers spanning fewer than ``room`` values by their offset from the smallest, anything else
    by its rank among the distinct values."""
    both = np.concatenate([mine, asked])
    if np.issubdtype(both.dtype, np.integer) and len(both) and int(both.max()) - int(both.min()) < room:
        coded, count = (both - both.min()).astype(np.int64), int(both.max()) - int(both.min()) + 1
    else:
        values, inverse = np.unique(both, return_inverse=True)
        coded, count = inverse.reshape(-1).astype(np.int64), max(len(values), 1)
    return coded[:len(mine)], coded[len(mine):], count


def _codes(table: tuple[np.ndarray, ...], query: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per key of ``table`` and of ``query``, equal where the keys are equal."""
    mine, asked = np.zeros(len(table[0]), np.int64), np.zeros(len(query[0]), np.int64)
    width = 1
    for table_column, query_column in zip(table, query, strict=True):
        room = (2**63 - 1) // width
        table_codes, query_codes, count = _column_codes(np.asarray(table_column), np.asarray(query_column), room)
        if count > room:
            raise ValueError("the key columns have too many distinct values to code in 64 bits")
        width *= count
        mine, asked = mine * count + table_codes, asked * count + query_codes
    return mine, asked


def _find(scores: Scores, query: tuple[np.ndarray, ...], kind: str) -> np.ndarray:
    """The position in ``scores`` of each queried key, -1 where it has no final score."""
    if len(scores.score) == 0 or len(query[0]) == 0:
        return np.full(len(query[0]), -1, dtype=np.int64)
    table, asked = _codes(scores.keys, query)
    order = np.argsort(table, kind="stable")
    ranked = table[order]
    if (ranked[1:] == ranked[:-1]).any():
        raise ValueError(f"a {kind} has more than one final score")
    at = np.minimum(np.searchsorted(ranked, asked), len(ranked) - 1)
    return np.where(ranked[at] == asked, order[at], -1)


def _gather(relations: Relations, scores: Mapping[str, Scores]) -> tuple[np.ndarray, ...]:
    """The candidates unranked: TIN/NPI, kind, entity position and score, one element each."""
    everyone = np.arange(len(relations.tin))
    asked = {"individual": (everyone, (relations.tin, relations.npi)), "group": (everyone, (relations.tin,)),
             "virtual_group": (relations.virtual_group.row, (relations.virtual_group.entity,)),
             "apm_entity": (relations.apm_entity.row, (relations.apm_entity.entity,))}
    parts: list[tuple[np.ndarray, ...]] = []
    for code, kind in enumerate(KINDS):
        if kind in scores:
            rows, keys = asked[kind]
            found = _find(scores[kind], keys, kind)
            hit = found >= 0
            parts.append((np.asarray(rows)[hit], np.full(int(hit.sum()), code, dtype=np.int8), found[hit],
                          np.asarray(scores[kind].score, dtype=np.int64)[found[hit]]))
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return tuple(np.concatenate(column) for column in zip(empty, *parts, strict=True))


def _best(rank: np.ndarray, score: np.ndarray, position: np.ndarray, row: np.ndarray, n: int) -> np.ndarray:
    """The best candidate of each TIN/NPI: the lowest rank (step), then the highest score, then the lowest position
    in the step's sources (packed into one int64, smaller is better), then the candidate listed first."""
    top = int(score.max(initial=0))
    span = top - int(score.min(initial=0)) + 1
    if (int(rank.max(initial=0)) + 1) * span * len(KINDS) >= 2**63:
        raise ValueError("final scores too far apart to rank in 64 bits")
    key = (rank * span + (top - score)) * len(KINDS) + position
    never = np.iinfo(np.int64).max
    best = np.full(n, never)
    np.minimum.at(best, row, key)
    winners = np.flatnonzero(key == best[row])
    first = np.full(n, never)
    np.minimum.at(first, row[winners], winners)
    chosen = np.zeros(len(row), dtype=bool)
    chosen[first[first != never]] = True
    return chosen


def choose(p: HierarchyParams, relations: Relations, scores: Mapping[str, Scores]) -> Choice:
    """Each TIN/NPI's final score by the hierarchy ``p``; ``scores``: the scored entities by kind (a kind left out
    has none)."""
    row, kind, entity, score = _gather(relations, scores)
    step_of = np.full(len(KINDS), -1, dtype=np.int64)
    position_of = np.zeros(len(KINDS), dtype=np.int64)
    for index, step in enumerate(p.steps):
        for position, source in enumerate(step.sources):
            step_of[KINDS.index(source)] = index
            position_of[KINDS.index(source)] = position
    step = step_of[kind]
    n = len(relations.tin)
    chosen = _best(np.where(step >= 0, step, len(p.steps)), score, position_of[kind], row, n) & (step >= 0)
    result: dict[str, np.ndarray] = {"score": np.zeros(n, np.int64), "kind": np.full(n, -1, np.int8),
                                     "entity": np.full(n, -1, np.int64), "step": np.full(n, -1, np.int64)}
    for name, column in (("score", score), ("kind", kind), ("entity", entity), ("step", step)):
        result[name][row[chosen]] = column[chosen]
    return Choice(result["score"], result["kind"], result["entity"], result["step"], np.bincount(row, minlength=n),
                  Candidates(row, kind, entity, score, step, chosen), p.names)
