"""Score with the array kernels: one entity (Python values) or many at once (numpy columns), the same results.

Each category's rule file names its mechanism; ``KERNELS`` maps that name to the kernel and its input builder.
After the categories come the eligibility facts, credits, reweighting, complex patient bonus, final score and
payment adjustment (``engine.scoring.kernels.final``). A kernel's parameters are converted once per rulebook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from engine.base.errors import Location, RulebookError, RulebookErrors
from engine.base.exact import ArrayOps, ScalarOps
from engine.inputs.submission import Issue, Submission, capped_issues
from engine.rules.model import Rulebook
from engine.rules.names import ELIGIBILITY, Kind
from engine.scoring.fixed import PrecisionError
from engine.scoring.frame import Batch, OneEntity, once_per_no_data, stack_entities, stack_rows
from engine.scoring.kernels import aci, cost, final, ia, not_scored, pi, quality
from engine.scoring.kernels.aci_inputs import aci_entity
from engine.scoring.kernels.cost_rows import cost_batch, cost_rows
from engine.scoring.kernels.ia_rows import ia_batch, ia_entity, ia_rows
from engine.scoring.kernels.pi_inputs import pi_entity, pi_issues, stack
from engine.scoring.kernels.quality_rows import COLUMNS as QUALITY_COLUMNS
from engine.scoring.kernels.quality_rows import quality_entity, quality_rows

Inputs = Any


@dataclass(frozen=True)
class Kernel:
    """A category mechanism: its parameters, one entity's inputs, many entities' inputs stacked as columns, and
    the kernel run on one entity or on stacked columns."""

    params: Callable[[Rulebook, str], Any]
    inputs: Callable[[Rulebook, Any, Submission, Mapping[str, Any], list[Issue]], Inputs]
    one: Callable[[Inputs, Any], tuple[dict[str, Any], dict[str, list[Any]]]]  # outputs, and the rows' columns
    stack: Callable[[Sequence[Inputs]], Any]
    many: Callable[[Any, Any], tuple[dict[str, Any], Batch | None]]  # outputs, and the rows with their results
    issues: Callable[[Any, Inputs, Mapping[str, Any]], list[Issue]] = lambda p, inputs, out: []


KERNELS: dict[str, Kernel] = {
    "decile_benchmarks": Kernel(
        lambda book, _: quality.quality_params(book),
        lambda book, p, submission, profile, issues: (quality_rows(book, p, submission, issues),
                                                      quality_entity(profile, p.precision)),
        lambda inputs, p: _with_rows(inputs[0], lambda rows: quality.score(rows, inputs[1], p)),
        lambda parts: (stack_rows([i[0] for i in parts], QUALITY_COLUMNS), stack_entities([i[1] for i in parts])),
        lambda stacked, p: _many_rows(stacked[0], lambda rows: quality.score(rows, stacked[1], p))),
    "activity_points": Kernel(
        lambda book, _: ia.ia_params(book),
        lambda book, p, submission, profile, issues: (ia_rows(book, submission, issues), ia_entity(profile, p)),
        lambda inputs, p: _with_rows(inputs[0], lambda rows: ia.score(rows, inputs[1], p)),
        lambda parts: (ia_batch([i[0] for i in parts]), stack_entities([i[1] for i in parts])),
        lambda stacked, p: _many_rows(stacked[0], lambda rows: ia.score(rows, stacked[1], p))),
    "cost_benchmarks": Kernel(
        lambda book, _: cost.cost_params(book),
        lambda book, p, submission, profile, issues: cost_rows(book, profile, issues),
        lambda inputs, p: _with_rows(inputs, lambda rows: cost.score(rows, p)),
        cost_batch,
        lambda stacked, p: _many_rows(stacked, lambda rows: cost.score(rows, p))),
    "not_scored": Kernel(
        not_scored.not_scored_params,
        lambda book, p, submission, profile, issues: not_scored.not_scored_rows(),
        lambda inputs, p: (not_scored.score(OneEntity(inputs), p), {}),
        lambda parts: not_scored.not_scored_batch(len(parts)),
        lambda stacked, p: (not_scored.score(stacked, p), None)),
    "measure_points": Kernel(
        lambda book, _: pi.pi_params(book),
        lambda book, p, submission, profile, issues: pi_entity(book, p, submission, issues),
        lambda inputs, p: (once_per_no_data(inputs, lambda: pi.score(inputs, p)), {}),
        stack,
        lambda stacked, p: (pi.score(stacked, p), None),
        pi_issues),
    "base_performance_bonus": Kernel(
        lambda book, _: aci.aci_params(book),
        lambda book, p, submission, profile, issues: aci_entity(book, p, submission, issues),
        lambda inputs, p: (once_per_no_data(inputs, lambda: aci.score(inputs, p)), {}),
        stack,
        lambda stacked, p: (aci.score(stacked, p), None)),
}


def _with_rows(columns: Any, kernel: Callable[[OneEntity], dict[str, Any]]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A row kernel's outputs for one entity, with every row column it computed (the explanation reads them)."""
    rows = OneEntity(columns)
    return kernel(rows), rows.columns


def _many_rows(batch: Batch, kernel: Callable[[Batch], dict[str, Any]]) -> tuple[dict[str, Any], Batch]:
    """A row kernel's outputs for a batch, and a copy of the batch holding every row column it computed (the
    stacked inputs stay as they were, so they can be scored again)."""
    rows = Batch.__new__(Batch)
    rows.__dict__.update(batch.__dict__)
    rows.columns = dict(batch.columns)
    return kernel(rows), rows


@dataclass(frozen=True)
class Compiled:
    """A rulebook's kernel parameters, converted once, and the rulebook addresses each kernel's parameters were
    read from (``final`` for the stage after the categories)."""

    categories: dict[str, tuple[Kernel, Any]]
    final: final.FinalParams
    reads: dict[str, frozenset[str]]


class _Recording:
    """A rulebook as a kernel's parameter builder sees it, recording every address it reads (a rule with the values
    of its file that the rule names)."""

    def __init__(self, book: Rulebook):
        self._book = book
        self.read: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._book, name)

    def value(self, address: str) -> Any:
        self.read.add(address)
        return self._book.value(address)

    def value_or(self, address: str, default: Any) -> Any:
        if address in self._book.params:
            self.read.add(address)
        return self._book.value_or(address, default)

    def param(self, address: str) -> Any:
        self.read.add(address)
        return self._book.param(address)

    def rule(self, address: str) -> Any:
        rule = self._book.rule(address)
        stem = address.split(".")[0]
        self.read.update([address, *(f"{stem}.{name}" for name in rule.expression.constants)])
        return rule


def _read(book: Rulebook, build: Callable[..., Any], *args: Any) -> tuple[Any, frozenset[str]]:
    """What ``build(book, *args)`` returns, and the rulebook addresses it read; a value it cannot use is a rulebook
    error located at that value (file, line, address)."""
    recording = _Recording(book)
    try:
        return build(cast(Rulebook, recording), *args), frozenset(recording.read)
    except (ValueError, KeyError, TypeError) as exc:
        found = [book.param(a) for a in sorted(recording.read) if a in book.params and isinstance(exc, PrecisionError)
                 and _holds(book.value(a), exc.value)]
        location = Location(found[0].file, found[0].line, None, found[0].address) if found else \
            Location(book.display_path)
        raise RulebookErrors([RulebookError(location, f"the scoring kernels cannot use this value: {exc}")]) from None


def _holds(value: Any, wanted: Any) -> bool:
    """Whether a rule value is, or contains, ``wanted`` (to name the value a kernel could not use)."""
    if isinstance(value, Mapping):
        return any(_holds(item, wanted) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_holds(item, wanted) for item in value)
    return value == wanted and not isinstance(value, bool)


def compiled(book: Rulebook) -> Compiled:
    """The kernels and parameters of ``book``, converted once and kept with it; a value a kernel cannot read
    (e.g. more decimals than the declared precision) is a rulebook error."""
    known = book.memo.get("kernels")
    if known is not None:
        return known
    categories, reads = {}, {}
    for name in book.value("program.categories"):
        kernel = KERNELS[book.mechanisms[name]]
        params, reads[name] = _read(book, kernel.params, name)
        categories[name] = (kernel, params)
    final_params, reads["final"] = _read(book, final.final_params)
    result = Compiled(categories, final_params, reads)
    book.memo["kernels"] = result
    return result


@dataclass
class Entity:
    """One entity's kernel inputs, with the problems found while building them."""

    categories: dict[str, Inputs]
    facts: dict[str, Any]
    bonus: tuple[dict[str, Any], bool]
    issues: list[Issue]


def entity_inputs(book: Rulebook, submission: Submission, profile: Mapping[str, Any], program: str) -> Entity:
    kernels = compiled(book)
    found: list[Issue] = []  # the submission's own issues were capped when it was read; these are capped here
    categories = {name: kernel.inputs(book, p, submission, profile, found)
                  for name, (kernel, p) in kernels.categories.items()}
    source = submission.sources[0] if submission.sources else "<submission>"
    return Entity(categories, final.entity_facts(submission.entity_type, program, dict(profile)),
                  final.bonus_inputs(kernels.final, dict(profile)), [*submission.issues, *capped_issues(found, source, "$")])


def score_one(book: Rulebook, entity: Entity) -> dict[str, Any]:
    """Every kernel output for one entity (Python values); problems found while scoring join its issues."""
    return score_one_with_rows(book, entity)[0]


def score_one_with_rows(book: Rulebook, entity: Entity) -> tuple[dict[str, Any], dict[str, dict[str, list[Any]]]]:
    """``score_one``'s outputs, and per category the columns of its rows (measurements, activities, cost measures)
    with every per-row value the kernel computed: what the explanation of one entity is built from."""
    kernels = compiled(book)
    outputs, rows = {}, {}
    for name, (kernel, p) in kernels.categories.items():
        outputs[name], rows[name] = kernel.one(entity.categories[name], p)
        entity.issues += kernel.issues(p, entity.categories[name], outputs[name])
    return {"categories": outputs, **_after_categories(ScalarOps, book, outputs, entity.facts, entity.bonus)}, rows


@dataclass(frozen=True)
class Stacked:
    """Many entities' kernel inputs as columns."""

    categories: dict[str, Any]
    facts: dict[str, Any]
    bonus: tuple[dict[str, Any], np.ndarray]


def stack_inputs(book: Rulebook, entities: Sequence[Entity]) -> Stacked:
    """Stack one-entity inputs into columns (one element per entity, rows grouped by entity)."""
    kernels = compiled(book)
    return Stacked({name: kernel.stack([e.categories[name] for e in entities])
                    for name, (kernel, _) in kernels.categories.items()},
                   _fact_columns([e.facts for e in entities]),
                   (stack_entities([e.bonus[0] for e in entities]) if entities[0].bonus[0] else {},
                    np.array([e.bonus[1] for e in entities])))


def score_stacked(book: Rulebook, stacked: Stacked) -> dict[str, Any]:
    """Every kernel output for stacked inputs (numpy columns, one element per entity)."""
    return score_stacked_with_rows(book, stacked)[0]


def score_stacked_with_rows(book: Rulebook, stacked: Stacked) -> tuple[dict[str, Any], dict[str, Batch | None]]:
    """``score_stacked``'s outputs, and per category the batch of its rows with every per-row value computed."""
    kernels = compiled(book)
    outputs, rows = {}, {}
    for name, (kernel, p) in kernels.categories.items():
        outputs[name], rows[name] = kernel.many(stacked.categories[name], p)
    return {"categories": outputs, **_after_categories(ArrayOps, book, outputs, stacked.facts, stacked.bonus)}, rows


def entity_view(outputs: Mapping[str, Any], rows: Mapping[str, Batch | None],
                index: int) -> tuple[dict[str, Any], dict[str, dict[str, list[Any]]]]:
    """One entity of a batch's outputs and rows, as Python values: the shape ``score_one_with_rows`` gives."""
    def element(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: element(item) for key, item in value.items()}
        array = np.asarray(value)
        return (array[index] if array.ndim else array).item()

    columns: dict[str, dict[str, list[Any]]] = {}
    for name, batch in rows.items():
        if batch is None:
            columns[name] = {}
            continue
        start, end = batch.starts[index], batch.ends[index]
        columns[name] = {key: [tuple(v) if isinstance(v, list) else v for v in column[start:end].tolist()]
                         for key, column in batch.columns.items()}
    view = element(outputs)
    facts = view["eligibility"]["facts"]
    lists = [name for name, kind in ELIGIBILITY.items() if kind == Kind.STRING_LIST]
    for name in lists:  # a list fact travels as one column per member
        members = [key for key in facts if key.startswith(f"{name}:")]
        facts[name] = sorted(key.split(":", 1)[1] for key in members if facts[key])
        for key in members:
            del facts[key]
    return view, columns


def score_many(book: Rulebook, entities: Sequence[Entity]) -> dict[str, Any]:
    """Every kernel output for many entities at once (numpy columns, one element per entity)."""
    return score_stacked(book, stack_inputs(book, entities))


def _after_categories(xp: Any, book: Rulebook, outputs: Mapping[str, Mapping[str, Any]], facts: dict[str, Any],
                      bonus: tuple[dict[str, Any], Any]) -> dict[str, Any]:
    kernels = compiled(book)
    p = kernels.final
    categories = {name: {"percent": out["percent"], "submitted": out["submitted"],
                         "from_submission": name in p.submitted_categories}
                  for name, out in outputs.items()}
    eligible = final.eligibility(xp, p, categories, facts)
    weighting = final.weigh(xp, p, eligible["facts"])
    complex_patient = final.complex_patient(xp, p, bonus[0], bonus[1], eligible["facts"]["submitted_any"])
    scored = final.final_score(xp, p, eligible["percent"], weighting, complex_patient)
    return {"eligibility": eligible, "weighting": weighting, "final": scored,
            "payment": final.payment(xp, p, scored["final_score"])}


def _fact_columns(facts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for name in facts[0]:
        if name == "eucApproved":
            for member in sorted({m for f in facts for m in f[name]}):
                columns[f"{name}:{member}"] = np.array([member in f[name] for f in facts])
        else:
            columns[name] = np.array([f[name] for f in facts])
    return columns
