"""Hostile CMS source folders for ``mips import-cms-data``: every source file is read as a bounded regular file (a FIFO,
a device, a folder or a huge file is refused before it is read) and parsed as plain JSON or CSV, each refusal naming
the file and the line or JSON path; never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from engine.authoring.importer import ReferenceImportError, SourceFileError, import_year
from engine.base.reading import MAX_BYTES
from engine.interfaces.cli import main
from tests.test_importer import PI_CSV, build_source

MEASURES = "measures-data.json"
VERSION = "version must be a short line of text such as 'v11.1.0'"


def _refused(folder: Path, year: int = 2020, version: str = "v1", commit: str | None = None) -> ReferenceImportError:
    """Import in a daemon thread that must end within 10 s (a FIFO would block forever); return the refusal."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            import_year(folder, year, version, commit)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "no answer in 10 s"
    assert raised and isinstance(raised[0], ReferenceImportError), raised
    return raised[0]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return build_source(tmp_path / "cms")


def _replace(path: Path, what: str) -> None:
    path.unlink()
    if what == "fifo":
        os.mkfifo(path)
    elif what == "folder":
        path.mkdir()
    elif what == "zero":
        path.symlink_to("/dev/zero")
    else:
        path.symlink_to(path.parent / "nowhere")


@pytest.mark.parametrize(("what", "message"), [
    ("fifo", "cannot read CMS source file: not a regular file"),
    ("folder", "cannot read CMS source file: not a regular file"),
    ("zero", "cannot read CMS source file: not a regular file"),
    ("dangling", "cannot read CMS source file: No such file or directory"),
])
@pytest.mark.parametrize("name", [MEASURES, "2020.json", "pi-measures.csv"])
def test_a_source_file_that_is_no_regular_file_is_refused_without_reading(source: Path, name: str, what: str,
                                                                          message: str) -> None:
    _replace(source / name, what)
    error = _refused(source)
    assert isinstance(error, SourceFileError)
    assert (error.location.file, error.message) == (str(source / name), message)


def test_a_huge_source_file_is_refused_by_its_size_without_reading_it(source: Path) -> None:
    with open(source / MEASURES, "r+b") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: nothing is written
    error = _refused(source)
    assert error.message == f"CMS source file is {MAX_BYTES + 1:,} bytes; at most {MAX_BYTES:,} are read"


def _with_measures_text(source: Path, text: str) -> SourceFileError:
    (source / MEASURES).write_text(text, encoding="utf-8", errors="surrogatepass")
    error = _refused(source)
    assert isinstance(error, SourceFileError) and error.location.file == MEASURES
    return error


def test_deep_nesting_is_refused_at_its_line_before_parsing(source: Path) -> None:
    error = _with_measures_text(source, "[\n" + "[" * 100_000 + "]" * 100_000 + "\n]")
    assert (error.location.line, error.message) == (2, "not a CMS source file: values nest more than 64 levels deep")


@pytest.mark.parametrize(("literal", "message"), [
    ("NaN", "NaN is not a finite number"),
    ("-Infinity", "-Infinity is not a finite number"),
    ("1e309", "1E+309 is beyond ±2**53 (9,007,199,254,740,992), which JSON does not carry exactly"),
    ("9" * 5000, "99999999999999…99999999999999 (5,000 characters) is beyond ±2**53"),
])
def test_a_number_json_does_not_carry_is_refused_at_its_path(source: Path, literal: str, message: str) -> None:
    records = json.loads((source / MEASURES).read_text(encoding="utf-8"))
    text = json.dumps(records).replace('"firstPerformanceYear": 2017', f'"firstPerformanceYear": {literal}', 1)
    error = _with_measures_text(source, text)
    assert error.location.pointer == "$[0].firstPerformanceYear"
    assert error.message.startswith(message) and error.message.endswith("; expected a JSON array of measure objects")


def test_a_lone_surrogate_is_refused_at_its_path(source: Path) -> None:
    records = json.loads((source / MEASURES).read_text(encoding="utf-8"))
    records[1]["title"] = "\ud800"
    error = _with_measures_text(source, json.dumps(records))
    assert error.location.pointer == "$[1].title"
    assert "which is not a Unicode character (a lone surrogate)" in error.message


def test_a_key_twice_in_one_object_is_refused(source: Path) -> None:
    error = _with_measures_text(source, '[{"measureId": "001", "measureId": "002"}]')
    assert error.message == "the key 'measureId' appears twice in one object"


def test_text_that_is_not_utf8_is_refused_at_its_line(source: Path) -> None:
    (source / "2020.json").write_bytes(b'[\n{"measureId": "caf\xe9"}\n]')
    error = _refused(source)
    assert isinstance(error, SourceFileError) and (error.location.file, error.location.line) == ("2020.json", 2)
    assert error.message == "CMS source file is not UTF-8 text (byte 0xe9 at offset 20)"


@pytest.mark.parametrize(("weight", "message"), [
    ("1e999", "weight 1E+999 is beyond ±2**53"),
    ("9" * 5000, "weight 99999999999999…99999999999999 (5,000 characters) is beyond ±2**53"),
])
def test_a_csv_weight_beyond_range_is_refused_at_its_row(source: Path, weight: str, message: str) -> None:
    (source / "pi-measures.csv").write_text(PI_CSV.replace(",10,", f",{weight},"), encoding="utf-8")
    error = _refused(source)
    assert str(error).startswith(f"pi-measures.csv row 2 (PI_EP_1): {message}")


@pytest.mark.parametrize(("year", "version", "commit", "message"), [
    (10**5000, "v1", None, "year must be a four-digit integer, got <a number of about 5,001 digits>"),
    (20200, "v1", None, "year must be a four-digit integer, got 20200"),
    (2020, "v\udcff", None, f"{VERSION}, got 'v\\udcff'"),
    (2020, "v" * 5000, None, f"{VERSION}, got 'vvvvvvvvvvvvvvvvv...vvvvvvvvvvvvvvvvvv'"),
    (2020, "v1", 7, "commit must be 40 lowercase hex digits, got 7"),
], ids=["huge-year", "five-digit-year", "surrogate-version", "long-version", "int-commit"])
def test_bad_arguments_are_refused_before_reading(source: Path, year: int, version: str, commit: str | None,
                                                   message: str) -> None:
    assert str(_refused(source, year, version, commit)) == message


def test_the_command_refuses_a_fifo_source_file_with_the_input_exit_code(source: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    _replace(source / MEASURES, "fifo")
    code = main(["import-cms-data", str(source), "--year", "2020", "--version", "v1", "--out", str(tmp_path / "o.json")])
    assert (code, capsys.readouterr().err) == (
        2, f"mips: {source / MEASURES}: cannot read CMS source file: not a regular file (give the path of a file)\n")
    assert not (tmp_path / "o.json").exists()
