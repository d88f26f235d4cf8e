"""Hostile submissions and profiles: each is refused with the engine's own located error, or scored with its bad parts
reported as issues; never a traceback, a hang or unbounded memory. One test per reproducer, then a slice of the fuzz
targets."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import engine
from engine.base import reading
from engine.base.errors import LocatedError, ProfileError, SubmissionError
from engine.base.reading import MAX_BYTES
from engine.inputs import profile as profiles
from engine.inputs.profile import check_profile, load_profile
from engine.inputs.submission import MAX_DEPTH, MAX_ISSUES, read_submission
from fuzz.harness import fuzz

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "2020-individual-quality-ia-pi.json"
TEXT = EXAMPLE.read_text(encoding="utf-8")
DOCUMENT = json.loads(TEXT)
FIRST_COUNT = "$.measurementSets[0].measurements[0].value.performanceMet"
BEYOND = "is beyond ±2**53 (9,007,199,254,740,992), which JSON does not carry exactly"
ALIAS_BOMB = "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _refused(error: type[LocatedError], call: Callable[..., Any], *args: Any) -> LocatedError:
    with pytest.raises(error) as caught:
        call(*args)
    return caught.value


def _within(seconds: float, call: Callable[[], Any]) -> BaseException | None:
    """Run ``call`` in a daemon thread; fail if it does not end in ``seconds``; return what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer in {seconds} s"
    return raised[0] if raised else None


def _with_count(tmp_path: Path, literal: str) -> Path:
    path = tmp_path / "submission.json"
    path.write_text(TEXT.replace('"performanceMet": 145', f'"performanceMet": {literal}', 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("literal,message", [
    ("NaN", "NaN is not a finite number"),
    ("Infinity", "Infinity is not a finite number"),
    ("-Infinity", "-Infinity is not a finite number"),
    ("1e309", f"1E+309 {BEYOND}"),
    ("1" + "0" * 400, f"10000000000000…00000000000000 (401 characters) {BEYOND}"),
    ("1" + "0" * 5000, f"10000000000000…00000000000000 (5,001 characters) {BEYOND}"),
])
def test_a_number_json_does_not_carry_is_refused_at_its_path(tmp_path: Path, literal: str, message: str) -> None:
    path = _with_count(tmp_path, literal)
    error = _refused(SubmissionError, read_submission, path)
    assert error.location.file == str(path) and error.location.pointer == FIRST_COUNT
    assert error.message == f"not a submission: {message}"


@pytest.mark.parametrize("value,message", [
    (float("nan"), "nan is not a finite number"),
    (float("inf"), "inf is not a finite number"),
    (1e300, f"1e+300 {BEYOND}"),
    (10**400, f"a number of about 401 digits {BEYOND}"),
])
def test_a_document_given_to_the_api_gets_the_same_checks(value: Any, message: str) -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["measurementSets"][0]["measurements"][0]["value"]["performanceMet"] = value
    error = _refused(SubmissionError, engine.score, doc, 2020)
    assert error.location.pointer == FIRST_COUNT and error.message == f"not a submission: {message}"


def test_a_key_that_is_not_text_is_refused() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["measurementSets"][0][1] = "x"
    error = _refused(SubmissionError, engine.score, doc, 2020)
    assert error.location.pointer == "$.measurementSets[0]" and error.message == "not a submission: the key 1 is not text"


def test_deep_nesting_in_a_file_is_refused_at_its_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{\n"a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    error = _refused(SubmissionError, read_submission, path)
    assert (error.location.line, error.location.column) == (2, 5 + MAX_DEPTH)  # the outer { is the first level
    assert error.message == f"not a submission: values nest more than {MAX_DEPTH} levels deep"


def test_deep_nesting_in_a_document_is_refused_at_its_path() -> None:
    doc = copy.deepcopy(DOCUMENT)
    inner: dict[str, Any] = {}
    doc["extra"] = inner
    for _ in range(100_000):
        inner["a"] = {}
        inner = inner["a"]
    error = _refused(SubmissionError, engine.score, doc, 2020)
    assert error.location.pointer == "$.extra" + ".a" * (MAX_DEPTH - 1)
    assert error.message == f"not a submission: values nest more than {MAX_DEPTH} levels deep"


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "twice.json"
    path.write_text(TEXT.replace('"performanceYear": 2020', '"performanceYear": 2020, "performanceYear": 2021', 1))
    error = _refused(SubmissionError, read_submission, path)
    assert error.message == "the key 'performanceYear' appears twice in one object"


def test_bytes_that_are_not_utf8_are_refused_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{\n"entityType": "individual",\n"x": "\xff"}')
    error = _refused(SubmissionError, read_submission, path)
    assert error.location.line == 3 and error.message == "submission is not UTF-8 text (byte 0xff at offset 36)"


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    for call, error in ((lambda: read_submission(fifo), SubmissionError), (lambda: load_profile(fifo), ProfileError)):
        raised = _within(5, call)
        assert isinstance(raised, error) and raised.message.endswith("not a regular file"), raised


@pytest.mark.parametrize("path", ["/dev/zero", "."])
def test_a_device_or_a_directory_is_refused(path: str) -> None:
    error = _refused(SubmissionError, read_submission, path)
    assert error.location.file == path and error.message == "cannot read submission: not a regular file"
    error = _refused(ProfileError, load_profile, path)
    assert error.message == "cannot read profile: not a regular file"


def test_a_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no disk is used
    error = _refused(SubmissionError, read_submission, path)
    assert error.message == f"submission is {MAX_BYTES + 1:,} bytes; at most {MAX_BYTES:,} are read"
    error = _refused(ProfileError, load_profile, path)
    assert error.message == f"profile is {MAX_BYTES + 1:,} bytes; at most {profiles.MAX_BYTES:,} are read"


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs a file that says it is empty (Linux /proc)")
def test_a_file_that_says_it_is_empty_is_read_in_bounded_chunks() -> None:
    """A /proc file's size is 0 however much it holds: it is read whole, and refused past the limit all the same."""
    assert reading.read_bytes("/proc/self/status", SubmissionError, "submission").startswith(b"Name:")
    error = _refused(SubmissionError, reading.read_bytes, "/proc/self/status", SubmissionError, "submission", 10)
    assert error.message == "submission is more than 10 bytes"


def test_a_path_that_is_not_a_path_is_refused() -> None:
    error = _refused(SubmissionError, engine.score, 3, 2020)  # not read as file descriptor 3
    assert error.message == "expected the path of a submission file, found 3"
    error = _refused(ProfileError, engine.score, EXAMPLE, 2020, ["x"])
    assert error.message == "expected the path of a profile file, found ['x']"


def test_a_python_tag_in_a_profile_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("smallGroupPractitioner: true\nclinicianType: !!python/object/apply:os.system ['echo pwned']\n")
    error = _refused(ProfileError, load_profile, path)
    assert (error.location.line, error.location.column) == (2, 16)
    assert error.message.startswith("the tag '!!python/object/apply:os.system' is not allowed in a profile")


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    raised = _within(5, lambda: load_profile(path))
    assert isinstance(raised, ProfileError)
    assert raised.message == "this value is repeated by an alias (*name); a profile reads no aliases"
    assert (raised.location.line, raised.location.column) == (1, 4)


def test_deep_nesting_and_long_numbers_in_a_profile_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text("complexPatient:\n" + "".join("  " * i + "a:\n" for i in range(1, 80)) + "  " * 80 + "b: 1\n")
    error = _refused(ProfileError, load_profile, path)
    assert error.message == f"values nest more than {MAX_DEPTH} levels deep" and error.location.line == MAX_DEPTH
    path.write_text("clinicianCount: 1" + "0" * 5000 + "\n")
    error = _refused(ProfileError, load_profile, path)
    assert error.location.line == 1 and error.message == "a number written with 5,001 characters; at most 40 are read"


def test_a_file_that_is_not_a_profile_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    error = _refused(ProfileError, load_profile, path)
    assert error.message == "not a profile: expected a mapping of facts, found text"
    assert "/bin/bash" not in str(error) and "daemon" not in str(error)


@pytest.mark.parametrize("doc,pointer,message", [
    ({"data": {"organizations": "x"}}, "/data/organizations", "expected a list of organizations, found text"),
    ({"data": {"organizations": [5]}}, "/data/organizations/0", "expected an organization object, found a number"),
    ({"data": {"organizations": [{"individualScenario": [1]}]}}, "/data/organizations/0/individualScenario",
     "expected a scenario object, found a list"),
    ({"facilityBased": {"qualityScore": float("nan")}}, "/facilityBased/qualityScore",
     "not a profile: nan is not a finite number"),
    ({"eucApproved": ["cost"] * 100_000}, "/eucApproved", "not a profile: 100,000 items; at most 500 are read here"),
])
def test_a_profile_of_the_wrong_shape_is_refused_at_its_pointer(doc: dict, pointer: str, message: str) -> None:
    error = _refused(ProfileError, check_profile, doc)
    assert error.location.pointer == pointer and error.message == message


@pytest.mark.parametrize("facts,pointer,message", [
    ({"facilityBased": {"qualityScore": 1e-7}}, "/facilityBased/qualityScore",
     "1e-07 has more than 4 decimals; a percent is read to 4"),
    ({"complexPatient": {"averageHccScore": 1e15}}, "/complexPatient/averageHccScore",
     "1000000000000000.0 is greater than the maximum of 100"),
])
def test_a_profile_number_scoring_cannot_carry_is_refused(facts: dict, pointer: str, message: str) -> None:
    error = _refused(ProfileError, engine.score, DOCUMENT, 2020, facts)
    assert error.location.pointer == pointer and error.message == message


def test_no_submission_at_all_is_refused() -> None:
    error = _refused(SubmissionError, engine.score, [], 2020)
    assert error.message == "no submission was given"


def test_many_bad_items_are_reported_in_bounded_number() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["measurementSets"][0]["measurements"] = list(range(100_000))
    issues = engine.score(doc, 2020).document["issues"]
    assert len(issues) == MAX_ISSUES + 1
    assert issues[0]["message"] == "expected an object with a string measureId and a value, found 0"
    assert issues[-1]["code"] == "issues_not_listed"
    assert issues[-1]["message"] == f"and {100_000 - MAX_ISSUES:,} more problems in this file, not listed (at most 100 are)"


def test_a_count_that_is_a_boolean_is_an_issue() -> None:
    doc = copy.deepcopy(DOCUMENT)
    doc["measurementSets"][0]["measurements"][0]["value"]["performanceMet"] = True
    issues = engine.score(doc, 2020).document["issues"]
    assert [(i["code"], i["message"]) for i in issues] == [
        ("value_invalid", "measure 236 not scored: performanceMet must be a number, found True")]


def test_a_batch_scores_the_good_rows_and_refuses_each_bad_one() -> None:
    bad = {**DOCUMENT, "performanceYear": float("inf")}
    batch = engine.score_many([DOCUMENT, bad, DOCUMENT, [1]], 2020)
    assert len(batch.sources) == 2
    assert batch.refused == [(1, "<submission>: at $.performanceYear: not a submission: inf is not a finite number"),
                             (3, "[1]: expected the path of a submission file, found [1]")]


@pytest.mark.parametrize("kind", ["submissions", "profiles"])
def test_a_slice_of_the_fuzz_target_ends_in_results_and_refusals(kind: str) -> None:
    report = fuzz(f"fuzz.targets.{kind}", seed=2026, count=120)
    assert report.counts["traceback"] == 0 and report.counts["hang"] == 0, report.failures[:3]
    assert report.counts["result"] and report.counts["refusal"]


def test_problems_found_while_scoring_are_capped_too() -> None:
    """1,000 unknown measure ids in one set: 100 issues listed, then one counting the other 900."""
    document = json.loads(EXAMPLE.read_text())
    quality = next(s for s in document["measurementSets"] if s["category"] == "quality")
    quality["measurements"] += [{"measureId": f"NOPE{i}", "value": {"isEndToEndReported": False, "performanceMet": 1,
                                 "performanceNotMet": 1, "eligiblePopulation": 2}} for i in range(1000)]
    issues = engine.score(document, 2020).document["issues"]
    assert len(issues) == MAX_ISSUES + 1
    assert issues[-1]["code"] == "issues_not_listed" and "and 9" in issues[-1]["message"]


def test_a_batch_refuses_a_profile_that_is_not_a_mapping() -> None:
    document = json.loads(EXAMPLE.read_text())
    result = engine.score_many([document, document], 2020, profiles=[{}, ["not", "a", "profile"]])
    assert len(result.columns["final_score"]) == 1
    assert [position for position, _ in result.refused] == [1]
    assert "not a profile" in result.refused[0][1]


def test_a_multi_rate_measure_without_an_overall_algorithm_is_refused_not_guessed() -> None:
    """CMS's measure data names how a multi-rate measure's strata make one rate; where it names none, the
    measurement is refused rather than scored by an assumed algorithm."""
    from engine.inputs.measurements import MeasurementValueError, measure_performance

    meta = {"metricType": "multiPerformanceRate", "overallAlgorithm": None, "strata": ["a", "b"]}
    value = {"strata": [{"stratum": "a", "performanceMet": 1, "performanceNotMet": 1, "eligiblePopulation": 2},
                        {"stratum": "b", "performanceMet": 2, "performanceNotMet": 0, "eligiblePopulation": 2}]}
    with pytest.raises(MeasurementValueError, match="^CMS's measure data gives this multi-rate measure no "
                                                    "overallAlgorithm$"):
        measure_performance(value, meta)
    given = measure_performance(value, {**meta, "overallAlgorithm": "weightedAverage"})
    assert (given.rate_num, given.rate_den) == (100 * 10**4 * 3, 4)  # 3 met of 4: 75 % in units of 10**-4 %
