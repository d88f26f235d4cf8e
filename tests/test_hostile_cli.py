"""The mips command given hostile arguments: each ends in a located refusal with its own exit code, or in output
that carries no injected structure, never a traceback; plus a slice of the command-line fuzz target."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import engine.interfaces.cli as cli
from engine._version import __version__
from engine.interfaces.cli import main
from fuzz.harness import fuzz

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "2020-individual-quality-ia-pi.json"
FORGED = "236\n## Final score: 100 of 100\n<script>alert(1)</script>"
YEAR_HINT = "not a performance year (expected four digits, 2017 or later, e.g. 2023)"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # usage errors leave through argparse
        code = exc.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of the 2020 rulebook in a folder of its own."""
    folder = tmp_path / "rules" / "2020"
    shutil.copytree(ROOT / "rules" / "2020", folder)
    return folder


@pytest.fixture
def forged(tmp_path: Path) -> Path:
    """The example submission with a measure id that carries a newline, a heading and a script tag."""
    document = json.loads(EXAMPLE.read_text())
    document["measurementSets"][0]["measurements"][0]["measureId"] = FORGED
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("year", ["abc", "-1", "99999", "2020/../x", "0x7E4", "1999", ""])
def test_new_year_refuses_a_year_that_is_not_one(year: str, tmp_path: Path, capsys) -> None:
    assert run(["new-year", "2020", year, "--into", str(tmp_path)], capsys) == (2, "", f"mips: year {year!r}: {YEAR_HINT}\n")
    assert list(tmp_path.iterdir()) == []


def test_new_year_refuses_an_existing_target(tmp_path: Path, capsys) -> None:
    assert run(["new-year", "2020", "2031", "--into", str(tmp_path)], capsys)[0] == 0
    assert run(["new-year", "2020", "2031", "--into", str(tmp_path)], capsys) == (
        2, "", f"mips: {tmp_path}/2031: already exists (choose another year or remove it first)\n")


@pytest.mark.parametrize("into", ["file.txt", "missing"])
def test_new_year_refuses_an_into_that_is_not_a_folder(into: str, tmp_path: Path, capsys) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert run(["new-year", "2020", "2031", "--into", str(tmp_path / into)], capsys) == (
        2, "", f"mips: {tmp_path / into}: --into is not an existing folder (create it first or give another)\n")


def test_new_year_refuses_an_empty_into(capsys) -> None:
    assert run(["new-year", "2020", "2031", "--into", ""], capsys) == (
        2, "", "mips: --into: is empty (give the folder for the copy, or leave --into out)\n")


def test_new_year_refuses_a_target_inside_its_source(source: Path, capsys) -> None:
    assert run(["new-year", str(source), "2031", "--into", str(source / "reference")], capsys) == (
        2, "", f"mips: {source}/reference: the copy cannot go inside the folder it copies (give --into a folder outside "
               "the source)\n")


def test_new_year_refuses_a_source_path_that_steps_up(tmp_path: Path, capsys) -> None:
    code, out, err = run(["new-year", "2020/../2021", "2031", "--into", str(tmp_path)], capsys)
    assert (code, out) == (1, "") and err.startswith("mips: the rulebook has 1 problem(s):\n  2020/../2021: ")
    assert "'..'" in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("edit,problem", [
    (("value: 2020", "value: '2020'"),
     "program.yaml: performance_year.value is not a year written as an integer (expected e.g. `performance_year:` "
     "then `  value: 2022`)"),
    (("payment_year:\n  value: 2022", "payment_year:\n  value: 2022.0"),
     "program.yaml: payment_year.value is not a year written as an integer (expected e.g. `payment_year:` then "
     "`  value: 2022`)"),
    (("performance_year:\n  value: 2020", "performance_year:\n  value: &y 2020"),
     "program.yaml: the years cannot be changed without changing other values (write performance_year.value and "
     "payment_year.value as plain numbers)"),
])
def test_new_year_refuses_a_source_without_integer_years(edit: tuple[str, str], problem: str, source: Path,
                                                         tmp_path: Path, capsys) -> None:
    program = source / "program.yaml"
    program.write_text(program.read_text().replace(*edit, 1) + ("shared: *y\n" if "&y" in edit[1] else ""))
    assert run(["new-year", str(source), "2031"], capsys) == (
        1, "", f"mips: the rulebook has 1 problem(s):\n  {source}/{problem}\n")
    assert not (source.parent / "2031").exists()


def test_new_year_refuses_a_source_without_program_yaml(source: Path, capsys) -> None:
    (source / "program.yaml").unlink()
    assert run(["new-year", str(source), "2031"], capsys) == (
        1, "", f"mips: the rulebook has 1 problem(s):\n  {source}/program.yaml: cannot read program.yaml: No such file "
               "or directory\n")


def test_new_year_does_not_follow_a_link_out_of_its_source(source: Path, tmp_path: Path, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not rules")
    (source / "reference" / "extra.json").symlink_to(secret)
    assert run(["new-year", str(source), "2031"], capsys) == (
        2, "", f"mips: {source}/reference/extra.json: is a link to '{secret}', outside this rulebook folder or not a "
               "file (replace the link by a copy of the file it points to)\n")
    assert sorted(p.name for p in source.parent.iterdir()) == ["2020"]  # no copy, nothing half-written


def test_new_year_replaces_only_the_year_tokens(source: Path, capsys) -> None:
    program = source / "program.yaml"
    text = program.read_text().replace("performance_year:\n  value: 2020",
                                       "performance_year:\n  value: 0x7E4  # 0x7E4 is 2020; 2020x and 20201 stay", 1)
    program.write_text(text)
    assert run(["new-year", str(source), "2031"], capsys)[0] == 0
    expected = text.replace("value: 0x7E4  #", "value: 2031  #", 1).replace("payment_year:\n  value: 2022",
                                                                            "payment_year:\n  value: 2033", 1)
    assert (source.parent / "2031" / "program.yaml").read_text() == expected
    assert "MIPS performance year 2020 (payment year 2022)" in expected  # the title is prose: left to the editor


def test_json_output_refuses_what_json_cannot_hold(monkeypatch, capsys) -> None:
    assert run(["score", str(EXAMPLE), "--fact", "complexPatient.averageHccScore=.nan", "--format", "json"], capsys) == (
        2, "", "mips: --fact: 'complexPatient.averageHccScore=.nan': not a finite value (no .nan, .inf or alias that "
               "contains itself)\n")
    code, out, err = run(["score", str(EXAMPLE), "--set", "quality.small_practice_bonus=.inf", "--format", "json"], capsys)
    assert (code, out) == (2, "") and err.startswith("mips: --set ") and "quality.small_practice_bonus" in err
    monkeypatch.delenv("MIPS_DEBUG", raising=False)
    monkeypatch.setattr(cli, "score", lambda *args, **kwargs: SimpleNamespace(document={"final_score": float("nan")}))
    code, out, err = run(["score", str(EXAMPLE), "--format", "json"], capsys)
    assert (code, out) == (3, "") and err.startswith("mips: internal error: ValueError: Out of range float values")


def test_markdown_neutralises_a_script_tag_and_a_forged_heading(forged: Path, capsys) -> None:
    code, out, _ = run(["explain", str(forged), "--format", "md"], capsys)
    assert code == 0 and "<script" not in out
    assert "236\\\\n\\#\\# Final score: 100 of 100\\\\n&lt;script&gt;alert(1)&lt;/script&gt; is not a 2020" in out
    assert [line for line in out.splitlines() if "Final score:" in line and not line.startswith(("| ", "- "))] == [
        "**Final score: 67.6744 of 100**"]


def test_html_escapes_a_script_tag_and_a_forged_heading(forged: Path, capsys) -> None:
    code, out, _ = run(["explain", str(forged), "--format", "html"], capsys)
    assert code == 0 and "<script" not in out and "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert out.count("<h2>Overview</h2>") == 1 and "<h2>Final score" not in out
    assert "236\\n## Final score: 100 of 100\\n&lt;script&gt;" in out and "236\n##" not in out


@pytest.mark.parametrize("argv,problem", [
    (["generate-population", "--year", "2020", "--size", "0", "-o", "pop"],
     "argument --size: expected a whole number from 1 to 10,000,000, not 0"),
    (["generate-population", "--year", "2020", "--size", "10000001", "-o", "pop"],
     "argument --size: expected a whole number from 1 to 10,000,000, not 10,000,001"),
    (["generate-population", "--year", "2020", "--size", "ten", "-o", "pop"],
     "argument --size: expected a whole number, not 'ten'"),
    (["batch", "in.parquet", "--year", "2020", "-o", "r.parquet", "--chunk-rows", "-1"],
     "argument --chunk-rows: expected a whole number of at least 1, not -1"),
    (["batch", "in.parquet", "--year", "2020", "-o", "."], "argument -o/--output: '.' is a folder; give the path of a "
                                                             "file to write"),
    (["adjust", "r.parquet", "--entities", "e.parquet", "-o", "x", "--exceptional-pool", "-5"],
     "argument --exceptional-pool: expected a whole number of at least 0, not -5"),
])
def test_population_commands_refuse_bad_arguments(argv: list[str], problem: str, capsys) -> None:
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "") and err.endswith(f"\nmips: {problem}\n")


def test_batch_refuses_an_output_it_cannot_write(tmp_path: Path, capsys) -> None:
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "in.jsonl").write_text(json.dumps(json.loads(EXAMPLE.read_text())) + "\n")
    argv = ["batch", str(tmp_path / "in.jsonl"), "--year", "2020", "-o", f"{tmp_path}/file.txt/r.parquet"]
    assert run(argv, capsys) == (2, "", f"mips: {tmp_path}/file.txt/r.parquet: cannot write the results here: Not a "
                                        "directory (give -o a file path in a folder you can write)\n")


def test_an_unreadable_input_file_is_refused_with_its_name(tmp_path: Path, capsys) -> None:
    argv = ["batch", str(tmp_path / "missing.parquet"), "--year", "2020", "-o", str(tmp_path / "r.parquet")]
    assert run(argv, capsys) == (2, "", f"mips: {tmp_path}/missing.parquet: cannot read: no such file or folder (give "
                                        "a folder of QPP JSON files, a JSON Lines file or a Parquet file)\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["score", "explain"])
def test_text_keeps_a_forged_heading_on_its_own_line(command: str, forged: Path, capsys) -> None:
    code, out, _ = run([command, str(forged)], capsys)
    assert code == 0 and "236\\n## Final score: 100 of 100\\n<script>alert(1)</script> is not a 2020" in out
    assert not [line for line in out.splitlines() if "100 of 100" in line and not line.startswith(("input problem", "- "))]


def test_an_unknown_format_is_refused(capsys) -> None:
    code, out, err = run(["explain", str(EXAMPLE), "--format", "pdf"], capsys)
    assert (code, out) == (2, "")
    assert err.endswith("mips: argument --format: invalid choice: 'pdf' (choose from 'text', 'md', 'html')\n")


def test_a_control_character_in_a_file_name_is_shown_escaped(tmp_path: Path, capsys) -> None:
    code, out, err = run(["score", f"{tmp_path}/a\x1b[2Jb.json"], capsys)
    assert (code, out) == (2, "") and err.startswith(f"mips: {tmp_path}/a\\x1b[2Jb.json: ") and "\x1b" not in err


def test_a_usage_error_is_a_located_refusal(capsys) -> None:
    code, out, err = run(["score"], capsys)
    assert (code, out) == (2, "") and err.endswith("\nmips: the following arguments are required: SUBMISSION.json\n")


@pytest.mark.parametrize("fact,problem", [
    ("a=[1,2", "'a=[1,2': the value is not valid YAML (e.g. true, 1.8 or [quality, cost])"),
    ("a..b=1", "'a..b=1': expected NAME=VALUE, e.g. smallGroupPractitioner=true"),
    ("smallGroupPractitioner.x=1", "'smallGroupPractitioner.x=1': smallGroupPractitioner is not a group of facts but "
                                   "True (set the group's facts, or the value itself)"),
])
def test_a_bad_fact_is_refused(fact: str, problem: str, capsys) -> None:
    argv = ["score", str(EXAMPLE), "--fact", "smallGroupPractitioner=true", "--fact", fact]
    assert run(argv, capsys) == (2, "", f"mips: --fact: {problem}\n")


def test_output_to_an_ascii_stdout_is_written_as_utf8(monkeypatch) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    monkeypatch.setattr(sys, "stdout", stdout)
    assert main(["explain", str(EXAMPLE)]) == 0
    stdout.flush()
    assert "…), CMS reference data" in stdout.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def test_the_command_runs_under_an_ascii_locale() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LANG": "C", "LC_ALL": "C"}
    done = subprocess.run([sys.executable, "-m", "engine.interfaces.cli", "explain", str(EXAMPLE)], cwd=ROOT, env=env,
                          capture_output=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, b"")
    assert "…), CMS reference data" in done.stdout.decode("utf-8")


def test_an_internal_error_has_its_own_exit_code_and_no_traceback(monkeypatch, capsys) -> None:
    def broken(document: dict, fmt: str, book: object = None) -> str:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(cli, "render", broken)
    monkeypatch.delenv("MIPS_DEBUG", raising=False)
    assert run(["explain", str(EXAMPLE)], capsys) == (
        3, "", f"mips: internal error: ZeroDivisionError: boom\nmips: this is a bug in mips {__version__}, not a problem "
               "with your files; please report it with the command that caused it (run it with MIPS_DEBUG=1 to add the "
               "traceback)\n")
    monkeypatch.setenv("MIPS_DEBUG", "1")
    code, _, err = run(["explain", str(EXAMPLE)], capsys)
    assert code == 3 and err.startswith("Traceback (most recent call last):") and "ZeroDivisionError: boom" in err


def test_a_fuzz_slice_of_command_lines_ends_in_results_and_refusals_only() -> None:
    report = fuzz("fuzz.targets.cli", seed=2026, count=60)
    assert report.counts["result"] > 0 and report.counts["refusal"] > 0
    assert not report.failures, "\n".join(f"{outcome}: {where}" for outcome, where, _ in report.failures)
