"""The mips command as a user runs it: output, located errors and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.interfaces.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "2020-individual-quality-ia-pi.json"
PROFILE = ROOT / "examples" / "2020-small-practice.yaml"


def test_score_prints_categories_weights_and_band(capsys) -> None:
    assert main(["score", str(EXAMPLE), "--profile", str(PROFILE)]) == 0
    out = capsys.readouterr().out
    assert "MIPS 2020 final score:" in out
    assert "Promoting Interoperability          69        30      20.7" in out
    # Final 89.170267, 2020 payment.yaml: 9 x (89.170267 - 45) / 55 = 7.227862 % x 0.00089 = 0.006433 %;
    # exceptional 0.5 + 9.5 x (89.170267 - 85) / 15 = 3.141169 % x 0.1864 = 0.585514 %; total 0.591947 %.
    # Each truncated to two decimals as CMS shows them: 0.00 %, 0.58 %, 0.59 %.
    assert ("Payment adjustment (2022): positive exceptional, +0.59% as received (adjustment 0.00% + exceptional "
            "+0.58%, truncated as CMS shows them); before scaling +7.2279% + exceptional +3.1412%") in out


def test_score_json_is_the_versioned_result_document(capsys) -> None:
    assert main(["score", str(EXAMPLE), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "mips-result/2"
    assert document["rulebook"]["year"] == 2020


def test_explain_renders_the_feedback(capsys) -> None:
    assert main(["explain", str(EXAMPLE), "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# MIPS performance feedback, performance year 2020")
    assert "## Payment adjustment (payment year 2022)" in out


def test_validate_lists_unverified_values(capsys) -> None:
    assert main(["validate", str(ROOT / "rules" / "2020")]) == 0
    out = capsys.readouterr().out
    assert "rules/2020: valid" in out
    assert "rules/2020/payment.yaml:" in out and "payment.scaling_factor" in out


def test_broken_rulebook_exits_1_with_located_errors(tmp_path: Path, capsys) -> None:
    import shutil

    folder = tmp_path / "2020"
    shutil.copytree(ROOT / "rules" / "2020", folder)
    path = folder / "ia.yaml"
    path.write_text(path.read_text().replace("maximum_points:", "maximum_point:"))
    assert main(["validate", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"{folder}/ia.yaml:" in err and "did you mean 'maximum_points'?" in err
    assert "Traceback" not in err


def test_what_if_override_is_recorded(capsys) -> None:
    assert main(["score", str(EXAMPLE), "--set", "payment.performance_threshold=60", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rulebook"]["overrides"] == {"payment.performance_threshold": 60}
    assert document["payment"]["performance_threshold"] == 60


@pytest.mark.parametrize("args,message", [
    (["score", "missing.json"], "cannot read submission"),
    (["score", str(EXAMPLE), "--set", "nothing.here=1"], "no rulebook value has this address"),
    (["score", str(EXAMPLE), "--set", "oops"], "expected ADDRESS=VALUE"),
    (["score", str(EXAMPLE), "--profile", str(EXAMPLE)], "unknown key"),
])
def test_refused_input_exits_2_with_a_message(args, message, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_import_cms_data_subcommand_is_wired(tmp_path: Path, capsys) -> None:
    assert main(["import-cms-data", str(tmp_path), "--year", "2020", "--version", "v1"]) == 2
    assert "measures-data.json" in capsys.readouterr().err


@pytest.mark.parametrize("date", ["2022-3-1", "yesterday"])
def test_as_of_that_is_not_an_iso_date_is_refused_with_exit_2(date: str, capsys) -> None:
    assert main(["score", str(EXAMPLE), "--as-of", date]) == 2
    assert f"--as-of {date!r}: expected a date as YYYY-MM-DD" in capsys.readouterr().err
