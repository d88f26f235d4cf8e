"""The compiled rulebook: immutable, picklable, cached, with its program variants compiled at load."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from engine import load, score
from engine.base.errors import OverrideError
from engine.rules.loader import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
HARDSHIP_GROUP = ROOT / "tests" / "golden" / "2021" / "group_pi_hardship_66"


def test_values_cannot_be_changed_after_loading() -> None:
    book = load_rulebook(2020)
    with pytest.raises(TypeError):
        book.value("quality.decile_points")["floor"] = 0  # type: ignore[index]
    with pytest.raises(TypeError):
        book.params["payment.performance_threshold"] = None  # type: ignore[index]
    with pytest.raises(AttributeError):
        book.year = 2030  # type: ignore[misc]


def test_a_loaded_rulebook_is_shared_and_pickles() -> None:
    book = load_rulebook(2021)
    assert load_rulebook(2021) is book
    copy = pickle.loads(pickle.dumps(book))
    assert copy.checksum == book.checksum and copy.params == book.params
    assert copy.evaluate("weights.reweight_when.pi", _facts()) == book.evaluate("weights.reweight_when.pi", _facts())


def test_program_variants_are_compiled_with_the_rulebook() -> None:
    book = load_rulebook(2021)
    app = book.for_program("app1")
    assert app is book.variants["app1"] and app.variant == "app1"
    # The APP's declared value (rules/2021/program.yaml program_variants) lies over the year's: no topped-out cap.
    assert book.value("quality.topped_out_cap") == 7 and app.value("quality.topped_out_cap") is None
    assert book.for_program("mips") is book


@pytest.mark.parametrize("text", ["2022-3-1", "yesterday", "2022-02-30", "20220301"])
def test_as_of_must_be_an_iso_date(text: str) -> None:
    with pytest.raises(OverrideError, match="expected a date as YYYY-MM-DD"):
        load(2021, as_of=text)


def test_as_of_a_date_before_the_2021_cost_decision_scores_the_group_54() -> None:
    # CMS reweighted 2021 group cost to 0 % on 4/25/2022; before it, Table 6 row "No PI": Q 65, cost 20, IA 15.
    # 60 x 0.65 + 0 x 0.20 + 100 x 0.15 = 39 + 0 + 15 = 54 (quality 60 % and IA 100 % as derived in the case).
    result = score(HARDSHIP_GROUP / "submission.json", load(2021, as_of="2022-03-01"),
                   profile=HARDSHIP_GROUP / "profile.yaml")
    assert result.final_score == 54
    assert result.document["rules"]["weights.reweight_when.cost"]["amended"] is None


def test_a_what_if_on_a_value_no_step_reads_is_refused() -> None:
    with pytest.raises(OverrideError, match="no scoring step reads this value"):
        load(2022, overrides={"cost.improvement_maximum": 5})
    with pytest.raises(OverrideError, match="no scoring step reads this value"):
        load(2020, overrides={"payment.published_maximum_adjustment": 3})


def test_interpolation_cannot_be_switched_off_by_a_what_if() -> None:
    from engine.base.errors import RulebookErrors

    with pytest.raises(RulebookErrors, match="interpolate"):
        load(2020, overrides={"quality.decile_points": {"floor": 3, "floor_below_decile": 3, "maximum": 10,
                                                         "interpolate": False}})


def test_a_result_names_the_rulebook_folder_it_read(tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "2020"
    shutil.copytree(ROOT / "rules" / "2020", copy)
    result = score(ROOT / "examples" / "2020-individual-quality-ia-pi.json", load(copy))
    assert result.document["rulebook"]["path"] == str(copy.resolve())
    assert all(rule["file"].startswith(str(copy.resolve())) for rule in result.document["rules"].values())


def _facts() -> dict:
    from engine.rules.names import INPUT_SETS

    facts = {name: False for name in INPUT_SETS["eligibility"]}
    facts.update(entity_type="group", program="mips", clinicianType="", clinicianCount=30, eucApproved=[])
    return facts


def test_a_value_the_kernels_cannot_read_is_refused_when_the_rulebook_loads() -> None:
    from engine.base.errors import RulebookErrors

    # rules/2020/program.yaml declares 6 decimals, so a floor of 3.1234567 points cannot be carried exactly.
    with pytest.raises(RulebookErrors, match="kernels cannot use this value: 3.1234567 has more than 6 decimals") as info:
        load(2020, overrides={"quality.decile_points": {"floor": 3.1234567, "floor_below_decile": 3, "maximum": 10,
                                                         "interpolate": True}})
    where = info.value.errors[0].location
    assert (where.file, where.line, where.pointer) == ("rules/2020/quality.yaml", 21, "quality.decile_points")


@pytest.mark.parametrize(("year", "factor", "given"), [(2020, "0.00089", 0.0009), (2021, "0.01333", 0.0133)])
def test_four_decimals_need_a_scaling_factor_of_four_as_the_precision_note_says(year: int, factor: str,
                                                                                 given: float) -> None:
    from engine.base.errors import RulebookErrors

    four = {"program.precision": {"decimals": 4, "rounding": "half_up"}}
    with pytest.raises(RulebookErrors, match=f"payment.scaling_factor: the scoring kernels cannot use this value: "
                                             f"{factor} has more than 4 decimals"):
        load(year, overrides=four)
    assert load(year, overrides={**four, "payment.scaling_factor": given}).value("payment.scaling_factor") == given


def test_a_year_is_read_from_this_checkout_and_named_so() -> None:
    result = score(ROOT / "examples" / "2020-individual-quality-ia-pi.json", 2020)
    assert result.document["rulebook"]["path"] == str((ROOT / "rules" / "2020").resolve())
