"""The feedback a clinician reads: golden text and Markdown per year (each read once against its result), every
template rendered against the view model of every golden case, a template that names anything outside its view model
refused when it loads, the one number formatter, and the reweighting grounds in the rulebook's words.

The feedback goldens are their own files (``feedback.txt``, ``feedback.md`` beside each case's inputs), so a change
of wording never touches the numeric regression files (``result.yml``). Regenerate them, after reading the change,
with ``.venv/bin/pytest tests/test_feedback.py --force-regen``.
"""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import TemplateError
from jinja2.exceptions import UndefinedError

from engine.base.errors import RulebookErrors
from engine.outputs import feedback, formatting
from engine.outputs.view import build
from engine.outputs.view_model import Figure
from engine.rules.loader import load_rulebook
from tests.test_golden import CASES, GOLDEN, _run

# a few cases per year, read once by a person against their result documents
READ = [
    "2017/aci_transition_set_62_15_5", "2017/euc_no_quality_50_50_81", "2017/nonproportion_ecpr11_fractional_numerator_53",
    "2020/suppressed_069_denominator_50", "2020/appB_group_pi_hardship", "2020/complex_patient_bonus_capped_10",
    "2021/apm_entity_mips_ia_credit_table6_77_6875", "2021/facility_based_62_5_beats_submitted_25",
    "2021/pi_hie5_answered_no_pi_zero_7_5",
    "2022/cost_measures_case_minimums", "2022/neutral_ia_only_quality_euc_hospital_based_75",
    "2022/web_interface_438_370_no_benchmark_excluded_40",
]
SUFFIX = {"text": ".txt", "md": ".md"}


def _stable(text: str) -> str:
    """The feedback without what changes with any edit elsewhere: the rulebook checksum and the engine version."""
    text = re.sub(r"sha256:[0-9a-f]{12}", "sha256:<checksum>", text)
    return re.sub(r"engine \d+\.\d+\.\d+\S*", "engine <version>", text)


@pytest.mark.parametrize("fmt", ["text", "md"])
@pytest.mark.parametrize("name", READ)
def test_feedback_reads_as_it_was_checked(name: str, fmt: str, file_regression) -> None:
    case = GOLDEN / name
    result = _run(case)
    text = _stable(feedback.render(result.document, fmt, result.trace.book))
    file_regression.check(text, fullpath=case / f"feedback{SUFFIX[fmt]}", binary=False)


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_format_renders_every_golden_case(case: Path) -> None:
    result = _run(case)
    view = build(result.document, result.trace.book)
    for fmt in feedback.FORMATS:
        out = feedback.render_view(view, fmt)
        assert formatting.number(result.document["final_score"]) in out, fmt


def test_a_document_alone_is_rendered_with_the_rulebook_it_names() -> None:
    result = _run(GOLDEN / "2020" / "suppressed_069_denominator_50")
    assert feedback.render(result.document, "md") == feedback.render(result.document, "md", result.trace.book)


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A copy of reports/ the renderer loads from, to be edited by a test; environments are made afresh."""
    copy = tmp_path / "reports"
    shutil.copytree(feedback.reports_dir(), copy)
    monkeypatch.setattr(feedback, "reports_dir", lambda: copy)
    feedback._environment.cache_clear()
    yield copy / "feedback"
    feedback._environment.cache_clear()


@pytest.mark.parametrize("fmt", feedback.FORMATS)
@pytest.mark.parametrize("edit,name", [("{{ veiw.header.year }}", "veiw"), ("{{ range(3) | list }}", "range"),
                                       ("{{ result.final_score }}", "result")])
def test_a_name_outside_the_view_model_fails_at_load(templates: Path, fmt: str, edit: str, name: str) -> None:
    path = templates / f"{fmt}.j2"
    path.write_text(path.read_text() + edit)
    with pytest.raises(TemplateError, match=f"names {name}, which is not part of its view model"):
        feedback.render_view(_view(), fmt)


def test_a_name_in_the_words_library_fails_at_load(templates: Path) -> None:
    path = templates / "words.j2"
    path.write_text(path.read_text() + "{% macro extra() %}{{ view }}{% endmacro %}")
    with pytest.raises(TemplateError, match="words.j2 names view"):
        feedback.render_view(_view(), "text")


@pytest.mark.parametrize("fmt", feedback.FORMATS)
def test_an_attribute_typo_fails_instead_of_printing_nothing(templates: Path, fmt: str) -> None:
    path = templates / f"{fmt}.j2"
    path.write_text(path.read_text().replace("view.overview", "view.overveiw", 1))
    with pytest.raises(UndefinedError, match="overveiw"):
        feedback.render_view(_view(), fmt)


def test_an_unknown_filter_fails_at_load(templates: Path) -> None:
    path = templates / "text.j2"
    path.write_text(path.read_text() + "{{ view.header.year | pcnt }}")
    with pytest.raises(TemplateError, match="pcnt"):
        feedback.render_view(_view(), "text")


def _view():
    result = _run(GOLDEN / "2020" / "appA_all_three_individual")
    return build(result.document, result.trace.book)


@pytest.mark.parametrize("call,expected", [
    (lambda: formatting.number(41.1312), "41.1312"),
    (lambda: formatting.number(5.873272), "5.8733"),
    (lambda: formatting.number(1123), "1,123"),
    (lambda: formatting.number(Decimal("2.00005")), "2.0001"),
    (lambda: formatting.percent(85.218667), "85.2187%"),
    (lambda: formatting.percent(Figure(0, state="reweighted")), "N/A"),
    (lambda: formatting.number(Figure(None, state="suppressed")), "--"),
    (lambda: formatting.number(None), "none"),
    (lambda: formatting.fixed(0, 2), "0.00"),
    (lambda: formatting.signed_percent(0.58, 2), "+0.58%"),
    (lambda: formatting.signed_percent(-9), "-9%"),
    (lambda: formatting.signed_percent(0.006433), "+0.0064%"),
    (lambda: formatting.dollars(1293.615), "$1,293.615"),
    (lambda: formatting.dollars(-12.5), "-$12.50"),
    (lambda: formatting.ratio(861, 1809), "861 / 1,809"),
    (lambda: formatting.factor(0.00089), "0.00089"),
    (lambda: formatting.number(float("nan")), "nan"),
])
def test_the_one_number_formatter(call, expected: str) -> None:
    assert call() == expected


def test_the_payment_is_shown_as_the_document_cut_it() -> None:
    # 2020 example: 0.006433 % + 0.585514 % = 0.591947 %, shown (truncated, CMS's feedback FAQ) 0.00 %, 0.58 %, 0.59 %
    result = _run(GOLDEN / "2020" / "exceptional_high_score")
    payment = build(result.document, result.trace.book).payment
    shown = result.document["payment"]["display"]
    assert (payment.shown_adjustment.value, payment.shown_exceptional.value, payment.shown_total.value) == (
        shown["adjustment"], shown["exceptional"], shown["total"])
    assert payment.shown_places == 2


@pytest.mark.parametrize("name,category,words", [
    ("2020/appA_ia_only_individual", "pi", "automatic extreme and uncontrollable circumstances (EUC) policy to every "
                                           "individual MIPS eligible clinician for 2020 (COVID-19)"),
    ("2020/appA_ia_only_individual", "quality", "(COVID-19)"),
    ("2020/appB_group_pi_hardship", "pi", "An approved Promoting Interoperability hardship exception"),
    ("2020/apm_entity_pi_set_rejected", "pi", "An APM Entity's Promoting Interoperability score comes from"),
    ("2022/small_practice_pi_reweighted_table_g", "pi", "Special status small practice"),
    ("2022/neutral_ia_only_quality_euc_hospital_based_75", "pi", "Special status hospital-based"),
    ("2021/apm_entity_mips_ia_credit_table6_77_6875", "cost", "CMS's decision of 4/25/2022 weights the 2021 cost"),
])
def test_a_reweighted_category_says_why_in_the_rulebooks_words(name: str, category: str, words: str) -> None:
    result = _run(GOLDEN / name)
    view = build(result.document, result.trace.book)
    page = next(c for c in view.categories if c.name == category)
    assert page.score.state == "reweighted" and any(words in g.text for g in page.grounds), page.grounds
    assert all(g.notes for g in page.grounds)
    assert words in feedback.render_view(view, "text")


def test_every_reweighted_golden_category_has_a_ground() -> None:
    for case in CASES:
        for node in _run(case).document["trace"]:
            if node["id"].endswith(".reweighted") and node["value"]:
                assert node["inputs"].get("grounds"), (case.name, node["id"])
                assert set(node["inputs"]["grounds"]) <= set(node["rules"])


@pytest.mark.parametrize("old,new,problem", [
    ('when: "piHardship"', 'when: "piHardship and ruralClinician"',
     "reads ruralClinician, which weights.reweight_when.pi does not read"),
    ("reweight_grounds:\n  quality:", "reweight_grounds:\n  qualty:",
     "a reweighting ground for qualty, which is not one of the categories"),
])
def test_a_ground_that_cannot_be_checked_from_its_node_is_refused(tmp_path: Path, old: str, new: str,
                                                                   problem: str) -> None:
    folder = tmp_path / "2020"
    shutil.copytree(GOLDEN.parents[1] / "rules" / "2020", folder)
    weights = folder / "weights.yaml"
    assert old in weights.read_text()
    weights.write_text(weights.read_text().replace(old, new, 1))
    with pytest.raises(RulebookErrors, match=problem):
        load_rulebook(folder)


@pytest.mark.parametrize("name,expected", [
    # 2020: PI measures by CMS's name, numerator and denominator, each rounded as the FAQ says
    ("2020/suppressed_069_denominator_50", "Support Electronic Referral Loops By Sending Health Information (PI_HIE_1): "
                                           "10 points (25 / 50 x 20 = 10, rounded to 10)"),
    # a measure's rate between the bounds of its decile: 8 + (87.5 - 80) / (90 - 80) = 9.75
    ("2020/suppressed_069_denominator_50", "- 236 Controlling High Blood Pressure (MIPS CQM), the required outcome or "
                                           "high-priority measure: 9.75 points\n    87.5% is in decile 9, which runs "
                                           "from 80% to 90%"),
    # the complex patient bonus by its inputs, not its formula: 2 x (3.2 + 5 x 0.5) = 11.4, capped at 10
    ("2020/complex_patient_bonus_capped_10", "Complex patient bonus 10: from average HCC risk score"),
])
def test_numbers_can_be_checked_by_hand(name: str, expected: str) -> None:
    result = _run(GOLDEN / name)
    text = feedback.render(result.document, "text", result.trace.book)
    assert expected in text
    assert "min(cap" not in text


def test_a_year_without_quality_bonuses_lists_none() -> None:
    for case in [c for c in CASES if c.parent.name == "2022"]:
        result = _run(case)
        text = feedback.render(result.document, "text", result.trace.book)
        assert "Outcome and high-priority measure bonus" not in text and "End-to-end" not in text, case.name
