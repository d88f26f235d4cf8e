"""The trace: append-only nodes, each written from the value the result carries, citing what was read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import explain, load, score
from engine.base.errors import MipsError
from engine.inputs.submission import Submission, merge_submissions, read_submission
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook
from engine.scoring import columnar
from engine.scoring.scope import program_of
from engine.scoring.trace import Trace

GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = [p for p in sorted((GOLDEN.parent / "samples").glob("*.json")) if "measurementset-response" not in p.name]


def _nodes(result) -> dict:
    return {n["id"]: n for n in result.document["trace"]}


def test_a_node_is_written_once() -> None:
    trace = Trace(load_rulebook(2020))
    trace.add("quality.score", 1, ["quality.maximum_percent"])
    with pytest.raises(ValueError, match="written twice"):
        trace.add("quality.score", 2, ["quality.maximum_percent"])


def test_a_credit_is_its_own_node_and_the_category_cites_it() -> None:
    # 2022 APP group without an IA set: CMS assigns 100 % (rules/2022/ia.yaml credits.app_participant);
    # from the submitted activities alone the category scores 0 %.
    case = GOLDEN / "2022" / "app_group_ia_credit"
    result = score(case / "submission.json", 2022, profile=case / "profile.yaml")
    nodes = _nodes(result)
    assert nodes["ia.score"]["value"] == 0
    assert nodes["ia.credit"]["value"] == 100 and nodes["ia.credit"]["rules"] == ["ia.credits.app_participant",
                                                                     "ia.credits.app_participant.percent"]
    assert nodes["ia.percent"]["value"] == 100 == result.category("ia")["percent"]
    assert nodes["ia.percent"]["rules"] == ["ia.credits.app_participant"]


def test_the_2017_aci_node_carries_the_score_the_result_carries() -> None:
    # With the base worth 0 points (a what-if), the transition set still earns its base (every required base
    # measure is reported), so ACI = 0 + performance 10 + 2 = 12, in the result and in its node alike.
    case = GOLDEN / "2017" / "aci_transition_set_62_15_5"
    result = score(case / "submission.json", load(2017, overrides={"pi.base_score": 0}))
    nodes = _nodes(result)
    assert result.category("pi")["percent"] == 12
    assert nodes["pi.score"]["value"] == 12 and nodes["pi.percent"]["value"] == 12


def test_every_category_percent_node_equals_the_result() -> None:
    for case in sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.yaml").exists()):
        overrides = yaml.safe_load((case / "expected.yaml").read_text()).get("overrides") or None
        profile = case / "profile.yaml"
        result = score(sorted(case.glob("submission*.json")), load(case.parent.name, overrides=overrides),
                       profile=profile if profile.exists() else None)
        nodes = _nodes(result)
        for name, category in result.document["categories"].items():
            assert nodes[f"{name}.percent"]["value"] == category["percent"], (case.name, name)
            assert nodes[f"{name}.contribution"]["value"] == category["points"], (case.name, name)
        assert nodes["final_score"]["value"] == result.final_score, case.name


def test_pi_hie5_answered_no_names_the_measure_and_its_other_reading() -> None:
    # 2021: PI_HIE_5 "no" with neither PI_HIE_1 nor PI_HIE_4. Default reading (rules/2021/pi.yaml
    # substitute_answered_no: category_zero): PI 0 %, and the reason names PI_HIE_5. The other reading lets the
    # category stand: PI_EP_1 80/100 x 10 = 8, PI_PEA_1 60/100 x 40 = 24, public health 5 + 5 = 10 => 42.
    case = GOLDEN / "2021" / "pi_hie5_answered_no_pi_zero_7_5"
    zero = score(case / "submission.json", 2021)
    node = _nodes(zero)["pi.score"]
    assert zero.category("pi")["percent"] == 0 and node["reason"] == "substitute_answered_no"
    assert node["inputs"] == {"measure": "PI_HIE_5", "replaces": ["PI_HIE_1", "PI_HIE_4"]}
    assert "pi.substitute_answered_no" in node["rules"]
    assert "(PI_HIE_5), which replaces Support Electronic Referral Loops By Sending Health Information and " \
           "Support Electronic Referral Loops By Receiving and Reconciling Health Information, is answered no" in explain(zero)
    stands = score(case / "submission.json", load(2021, overrides={"pi.substitute_answered_no": "no_points"}))
    assert stands.category("pi")["percent"] == 42
    replaced = _nodes(stands)["pi.measures.PI_HIE_1"]
    assert (replaced["reason"], replaced["inputs"]) == ("substituted", {"by": "PI_HIE_5"})
    assert "(PI_HIE_1): 0 points (replaced by Health Information Exchange(HIE) Bi-Directional Exchange (PI_HIE_5))" \
           in explain(stands)


Scored = tuple[int, Rulebook, dict, dict[str, frozenset[str]]]  # year, rulebook, result document, kernels' reads


@pytest.fixture(scope="module")
def scored() -> list[Scored]:
    """Every golden case (what-ifs included) and 1,000 generated submissions a year, each with what its kernels
    read when their parameters were built."""
    from engine.inputs.profile import check_profile
    from engine.inputs.submission import parse_submission
    from tests.generate import submissions

    def one(year: int, book: Rulebook, submission: Submission, profile: Path | dict | None) -> Scored:
        result = score(submission, book, profile=profile)
        return year, book, result.document, columnar.compiled(book.for_program(program_of(submission))).reads

    cases = []
    for case in sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.yaml").exists()):
        overrides = yaml.safe_load((case / "expected.yaml").read_text()).get("overrides") or None
        profile = case / "profile.yaml"
        submission = merge_submissions([read_submission(p) for p in sorted(case.glob("submission*.json"))])
        cases.append(one(int(case.parent.name), load(case.parent.name, overrides=overrides), submission,
                         profile if profile.exists() else None))
    for year in (2017, 2020, 2021, 2022):
        book = load(year)
        cases += [one(year, book, parse_submission(document), check_profile(profile))
                  for document, profile in submissions(year, 1000, seed=7)]
    return cases


def test_every_node_cites_only_values_its_kernel_read(scored: list[Scored]) -> None:
    """A node's rules are rulebook addresses the kernel that computed it read when its parameters were built (the
    category's kernel for a category's own nodes, the final stage for credits, weights, the final score and the
    payment), so an explanation never cites a value no step read."""
    final_stage = ("credit", "percent", "reweighted", "weight", "contribution")
    for _, _, document, reads in scored:
        for node in document["trace"]:
            head, _, tail = node["id"].partition(".")
            owner = head if head in reads and tail not in final_stage else "final"
            assert set(node["rules"]) <= reads[owner], (node["id"], set(node["rules"]) - reads[owner])


COMPANIONS = {"quality.topped_out_cap_exempt_methods": "quality.topped_out_cap",
              "quality.collection_type_tie_break": "quality.best_collection_type"}  # read only beside the other


def _switched_off(value: object) -> bool:
    return value is None or value is False or value in ({}, (), []) or \
        isinstance(value, Mapping) and value.get("enabled") is False


def _inert(book: Rulebook, address: str) -> bool:
    """A value that configures a mechanism its year does not use: none, empty or ``enabled: false``; or one read
    only beside such a value (a topped-out cap's exempt collection types, the tie-break between collection types
    when each counts on its own)."""
    if address in COMPANIONS:
        return _switched_off(book.value(COMPANIONS[address]))
    value = book.value(address)
    return value is not False and _switched_off(value)


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_every_value_a_kernel_reads_is_cited_where_it_decides(scored: list[Scored], year: int) -> None:
    """The other way round: each value the kernels read is cited by a node of some golden or generated case, so no
    rule changes a number without the explanation naming it; only values of mechanisms the year does not use are
    read and never cited."""
    book = load(year)
    read = {a for y, b, _, reads in scored if y == year and b is book for kernel in reads.values() for a in kernel}
    cited = {a for y, b, document, _ in scored if y == year and b is book for n in document["trace"] for a in n["rules"]}
    assert sorted(a for a in read - cited if not (a in book.params and _inert(book, a))) == []


def _thawed(value: object) -> Any:
    """A loaded (frozen) value as plain data, as a what-if gives it."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    return [_thawed(v) for v in value] if isinstance(value, tuple) else value


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_every_address_a_node_cites_can_be_set_by_a_what_if(scored: list[Scored], year: int) -> None:
    """A reader who finds an address in the trace can try another value for it: each is a what-if address (set here
    to the value it has)."""
    book = load(year)
    cited = {a for y, b, document, _ in scored if y == year and b is book for n in document["trace"] for a in n["rules"]}
    for address in sorted(cited):
        value = _thawed(book.value(address)) if address in book.params else book.rule(address).expression.text
        assert list(load_rulebook(year, overrides={address: value}).overrides) == [address]


def _enums() -> list[list[str]]:
    """Every list of choices the rulebook schemas give (a rounding rule, a tie-break, a display mode...)."""
    found: list[list[str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("enum"), list) and all(isinstance(c, str) for c in node["enum"]):
                found.append(node["enum"])
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((GOLDEN.parents[1] / "schemas" / "rules").glob("*.schema.json")):
        walk(json.loads(path.read_text()))
    return found


def _changed_alone(value: object, enums: list[list[str]]) -> list[tuple[str, object]]:
    """What-ifs that change one number, true/false or choice of a value: the value itself, or one field of a
    mapping (a choice becomes each other choice of a schema list that holds it)."""
    def others(v: object) -> list[object]:
        if isinstance(v, bool):
            return [not v]
        if isinstance(v, int | float | Decimal):
            return [v + 1 if isinstance(v, int) else float(v) * 1.1]
        if isinstance(v, str):
            return sorted({c for choices in enums if v in choices for c in choices} - {v})
        if isinstance(v, tuple) and v and all(isinstance(i, str) for i in v):
            return [list(v[1:])]  # a list of names without its first
        return []

    if not isinstance(value, Mapping):
        return [("", o) for o in others(value)]
    return [(f"[{k}]={o}", {**_thawed(value), k: o}) for k, v in value.items() for o in others(v)]


def _outcome(node: dict | None) -> tuple | None:
    """What a node decided: its value and its reason (none where the node is not written)."""
    return None if node is None else (node["value"], node["reason"])


def _reversed(book: Rulebook, address: str) -> list[tuple[str, object]]:
    """A condition negated, a formula plus one."""
    expression = book.rule(address).expression
    return [("=not", f"not ({expression.text})") if expression.kind == "condition" else ("+1", f"({expression.text}) + 1")]


@pytest.mark.parametrize("year", [2017, 2020, 2021, 2022])
def test_a_what_if_that_moves_a_number_is_cited_where_it_moved(year: int) -> None:
    """Each number, true/false or choice the kernels read (alone, or a field of a mapping), and each condition or
    formula (negated, plus one), and each list of names without its first, changed by a what-if: on every golden case
    of the year where a node's value or reason moves, a node that moved cites it (with the what-if or without it), so
    ``compare`` and a reader of the trace can always name the rule behind a difference."""
    book = load(year)
    cases = []
    for case in sorted((GOLDEN / str(year)).iterdir()):
        if (case / "expected.yaml").exists() and not yaml.safe_load((case / "expected.yaml").read_text()).get("overrides"):
            profile = case / "profile.yaml"
            cases.append((case.name, merge_submissions([read_submission(p) for p in sorted(case.glob("submission*.json"))]),
                          profile if profile.exists() else None))
    read = {a for _, submission, _ in cases
            for kernel in columnar.compiled(book.for_program(program_of(submission))).reads.values() for a in kernel}
    before = {name: _nodes(score(submission, book, profile=profile)) for name, submission, profile in cases}
    unexplained, enums = [], _enums()
    for address in sorted(read):
        for part, value in _changed_alone(book.value(address), enums) if address in book.params else _reversed(book, address):
            try:
                other = load(year, overrides={address: value})
            except MipsError:
                continue  # refused by the rulebook's own checks (e.g. a value others were derived from)
            for name, submission, profile in cases:
                try:
                    after, was = _nodes(score(submission, other, profile=profile)), before[name]
                except MipsError:
                    continue  # e.g. a table's condition negated: no row of the table it now falls to fits
                moved = [i for i in set(was) | set(after) if _outcome(was.get(i)) != _outcome(after.get(i))]
                if moved and not any(address in (was.get(i) or {}).get("rules", []) + (after.get(i) or {}).get("rules", [])
                                     for i in moved):
                    unexplained.append((f"{address}{part}", name, sorted(moved)[:4]))
    assert unexplained == []


def _json_native(value: object, path: str) -> list[str]:
    """Where ``value`` holds anything but JSON's own types (str keys, lists, numbers, strings, booleans, null)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in ([f"{path} key {k!r}"] if not isinstance(k, str) else [])
                + _json_native(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _json_native(v, f"{path}[{i}]")]
    return [] if value is None or type(value) in (bool, int, float, str) else [f"{path}: {type(value).__name__}"]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_result_document_is_json_native_and_carries_the_trace_values(path: Path) -> None:
    """The document is assembled from the nodes without conversion: only JSON's own types, the final score the
    node's value."""
    result = score(path)
    assert _json_native(result.document, "$") == []
    assert json.loads(result.json()) == result.document == json.loads(result.json(indent=True))
    assert result.final_score == result.document["final_score"] == _nodes(result)["final_score"]["value"]
