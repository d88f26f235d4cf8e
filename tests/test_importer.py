"""Tests for engine.importer on a tiny fake qpp-measures-data folder built in tmp_path."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from engine.authoring.importer import ReferenceImportError, import_year, run, write_reference

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "reference.schema.json"
COMMIT = "100b25f9ac65615fcd7b75b11d16dc5a02b3e92f"

QUALITY = [
    {
        "measureId": "001",
        "category": "quality",
        "title": "Diabetes: Hemoglobin A1c Poor Control",
        "description": "ignored",
        "measureType": "intermediateOutcome",
        "isHighPriority": True,
        "isInverse": True,
        "metricType": "singlePerformanceRate",
        "isRegistryMeasure": False,
        "submissionMethods": ["claims", "registry"],
        "firstPerformanceYear": 2017,
        "lastPerformanceYear": None,
        "strata": [{"description": "unnamed eCQM stratum", "eMeasureUuids": ["x"]}],
        "clinicalGuidelineChanged": ["claims"],
        "icdImpacted": [],
        "allowedPrograms": ["mips", "pcf"],
    },
    {
        "measureId": "005",
        "category": "quality",
        "title": "Heart Failure: ACE Inhibitor or ARB",
        "measureType": "process",
        "isHighPriority": False,
        "isInverse": False,
        "metricType": "multiPerformanceRate",
        "isRegistryMeasure": False,
        "submissionMethods": ["registry"],
        "firstPerformanceYear": 2017,
        "overallAlgorithm": "weightedAverage",
        "strata": [
            {"name": "overall", "description": "All patients"},
            {"name": "LVSD", "description": "Patients with LVSD"},
        ],
    },
    {
        "measureId": "ABC1",
        "category": "quality",
        "title": "A QCDR measure",
        "measureType": "outcome",
        "isHighPriority": True,
        "isInverse": False,
        "metricType": "registrySinglePerformanceRate",
        "isRegistryMeasure": True,
        "submissionMethods": ["registry"],
        "firstPerformanceYear": 2019,
    },
]
IA = {
    "measureId": "IA_CC_7",
    "category": "ia",
    "title": "Regular training in care coordination",
    "metricType": "boolean",
    "weight": "medium",
    "subcategoryId": "careCoordination",
    "firstPerformanceYear": 2017,
}
PI = [
    {
        "measureId": "PI_EP_1",
        "category": "pi",
        "title": "e-Prescribing",
        "isRequired": True,
        "isBonus": False,
        "metricType": "proportion",
        "objective": "electronicPrescribing",
        "reportingCategory": "required",
        "substitutes": [],
        "measureSets": [],
        "exclusion": "PI_LVPP_1",
    },
    {
        "measureId": "PI_LVPP_1",
        "category": "pi",
        "title": "e-Prescribing Exclusion",
        "isRequired": False,
        "isBonus": False,
        "metricType": "boolean",
        "objective": "electronicPrescribing",
        "reportingCategory": "exclusion",
        "substitutes": [],
        "measureSets": [],
        "exclusion": None,
    },
]
COST = {
    "measureId": "TPCC_1",
    "category": "cost",
    "title": "Total Per Capita Cost",
    "metricType": "costScore",
    "isInverse": True,
    "submissionMethods": ["administrativeClaims"],
}
BENCHMARKS = [
    {
        "measureId": "001",
        "submissionMethod": "registry",
        "performanceYear": 2020,
        "benchmarkYear": 2018,
        "deciles": [100, 54.55, 40.0, 32.14, 26.89, 21.43, 16.67, 11.76, 6.45],
        "isToppedOut": False,
        "isToppedOutByProgram": False,
        "isHighPriority": True,
    },
    {
        "measureId": "TPCC_1",
        "submissionMethod": "administrativeClaims",
        "performanceYear": 2020,
        "benchmarkYear": 2020,
        "deciles": [
            2239.54,
            1595.39,
            1455.01,
            1377.51,
            1318.42,
            1268.81,
            1221.34,
            1172.76,
            1118.94,
            1040.82,
        ],
    },
]
PI_CSV = (
    "measureId,title,description,isRequired,metricType,firstPerformanceYear,weight,objective\r\n"
    '"PI_EP_1",e-Prescribing,"Text, with a comma",TRUE,proportion,2017,10,electronicPrescribing\r\n'
    "PI_LVPP_1,e-Prescribing Exclusion,x,FALSE,boolean,2017,null,electronicPrescribing\r\n"
)


def build_source(
    folder: Path,
    year: int = 2020,
    measures: list[dict[str, Any]] | None = None,
    csv_text: str | None = PI_CSV,
) -> Path:
    """Write a fake CMS source folder (pretty-printed JSON like upstream; CSV with a BOM)."""
    folder.mkdir(parents=True, exist_ok=True)
    if measures is None:
        measures = [*QUALITY, IA, *PI, COST]
    benchmarks = [{**b, "performanceYear": year} for b in BENCHMARKS]
    (folder / "measures-data.json").write_text(json.dumps(measures, indent=2), encoding="utf-8")
    (folder / f"{year}.json").write_text(json.dumps(benchmarks, indent=2), encoding="utf-8")
    if csv_text is not None:
        (folder / "pi-measures.csv").write_bytes(b"\xef\xbb\xbf" + csv_text.encode("utf-8"))
    return folder


def file_hashes(path: Path) -> dict[str, Any]:
    """sha256, git blob sha1 and size, computed independently of the importer."""
    content = path.read_bytes()
    blob = hashlib.sha1(f"blob {len(content)}\0".encode() + content).hexdigest()
    return {"sha256": hashlib.sha256(content).hexdigest(), "gitBlob": blob, "bytes": len(content)}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return build_source(tmp_path / "cms" / "2020")


def test_exact_output(source: Path) -> None:
    doc = import_year(source, 2020, "v11.1.0", COMMIT)
    assert doc == {
        "format": 1,
        "performanceYear": 2020,
        "source": {
            "repository": "CMSgov/qpp-measures-data",
            "version": "v11.1.0",
            "commit": COMMIT,
            "files": {
                name: file_hashes(source / name)
                for name in ("measures-data.json", "2020.json", "pi-measures.csv")
            },
        },
        "quality": {
            "001": {
                "title": "Diabetes: Hemoglobin A1c Poor Control",
                "measureType": "intermediateOutcome",
                "isHighPriority": True,
                "isInverse": True,
                "metricType": "singlePerformanceRate",
                "isRegistryMeasure": False,
                "submissionMethods": ["claims", "registry"],
                "overallAlgorithm": None,
                "strata": [None],
                "firstPerformanceYear": 2017,
                "allowedPrograms": ["mips", "pcf"],
                "clinicalGuidelineChanged": ["claims"],
                "icdImpacted": [],
            },
            "005": {
                "title": "Heart Failure: ACE Inhibitor or ARB",
                "measureType": "process",
                "isHighPriority": False,
                "isInverse": False,
                "metricType": "multiPerformanceRate",
                "isRegistryMeasure": False,
                "submissionMethods": ["registry"],
                "overallAlgorithm": "weightedAverage",
                "strata": ["overall", "LVSD"],
                "firstPerformanceYear": 2017,
                "allowedPrograms": None,
                "clinicalGuidelineChanged": [],
                "icdImpacted": [],
            },
            "ABC1": {
                "title": "A QCDR measure",
                "measureType": "outcome",
                "isHighPriority": True,
                "isInverse": False,
                "metricType": "registrySinglePerformanceRate",
                "isRegistryMeasure": True,
                "submissionMethods": ["registry"],
                "overallAlgorithm": None,
                "strata": [],
                "firstPerformanceYear": 2019,
                "allowedPrograms": None,
                "clinicalGuidelineChanged": [],
                "icdImpacted": [],
            },
        },
        "ia": {
            "IA_CC_7": {
                "title": "Regular training in care coordination",
                "weight": "medium",
                "subcategoryId": "careCoordination",
                "cehrtEligible": None,
            }
        },
        "pi": {
            "PI_EP_1": {
                "title": "e-Prescribing",
                "objective": "electronicPrescribing",
                "reportingCategory": "required",
                "isRequired": True,
                "isBonus": False,
                "metricType": "proportion",
                "exclusion": ["PI_LVPP_1"],
                "substitutes": [],
                "measureSets": [],
                "weight": 10,
            },
            "PI_LVPP_1": {
                "title": "e-Prescribing Exclusion",
                "objective": "electronicPrescribing",
                "reportingCategory": "exclusion",
                "isRequired": False,
                "isBonus": False,
                "metricType": "boolean",
                "exclusion": [],
                "substitutes": [],
                "measureSets": [],
                "weight": None,
            },
        },
        "cost": {
            "TPCC_1": {
                "title": "Total Per Capita Cost",
                "isInverse": True,
                "submissionMethods": ["administrativeClaims"],
            }
        },
        "benchmarks": {
            "001|registry": {
                "benchmarkYear": 2018,
                "deciles": [100, 54.55, 40.0, 32.14, 26.89, 21.43, 16.67, 11.76, 6.45],
                "isToppedOut": False,
                "isToppedOutByProgram": False,
            },
            "TPCC_1|administrativeClaims": {
                "benchmarkYear": 2020,
                "deciles": BENCHMARKS[1]["deciles"],
                "isToppedOut": None,
                "isToppedOutByProgram": None,
            },
        },
    }


def test_checksums_match_hashlib(source: Path) -> None:
    files = import_year(source, 2020, "v11.1.0", None)["source"]["files"]
    for name in ("measures-data.json", "2020.json", "pi-measures.csv"):
        content = (source / name).read_bytes()
        header = b"blob " + str(len(content)).encode() + b"\x00"
        assert files[name]["sha256"] == hashlib.sha256(content).hexdigest()
        assert files[name]["gitBlob"] == hashlib.sha1(header + content).hexdigest()
        assert files[name]["bytes"] == len(content)


def test_csv_byte_order_mark_is_handled(source: Path) -> None:
    assert (source / "pi-measures.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    pi = import_year(source, 2020, "v11.1.0", None)["pi"]
    assert {k: v["weight"] for k, v in pi.items()} == {"PI_EP_1": 10, "PI_LVPP_1": None}


def test_csv_without_byte_order_mark_also_works(tmp_path: Path) -> None:
    folder = build_source(tmp_path / "src", csv_text=None)
    (folder / "pi-measures.csv").write_text(PI_CSV, encoding="utf-8")
    assert import_year(folder, 2020, "v1", None)["pi"]["PI_EP_1"]["weight"] == 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PI_LVPP_1", ["PI_LVPP_1"]),
        (None, []),
        (["PI_A", "PI_B"], ["PI_A", "PI_B"]),
        ("PI_A, PI_B", ["PI_A", "PI_B"]),
    ],
)
def test_exclusion_is_normalised_to_a_list(tmp_path: Path, value: Any, expected: list) -> None:
    measures = [*QUALITY, IA, {**PI[0], "exclusion": value}, PI[1], COST]
    folder = build_source(tmp_path / "src", measures=measures)
    assert import_year(folder, 2020, "v1", None)["pi"]["PI_EP_1"]["exclusion"] == expected


def test_absent_exclusion_field_is_an_empty_list(tmp_path: Path) -> None:
    ep1 = {k: v for k, v in PI[0].items() if k != "exclusion"}
    folder = build_source(tmp_path / "src", measures=[*QUALITY, IA, ep1, PI[1], COST])
    assert import_year(folder, 2020, "v1", None)["pi"]["PI_EP_1"]["exclusion"] == []


def test_output_validates_against_schema(source: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(import_year(source, 2020, "v1", COMMIT))


def test_schema_rejects_unknown_fields(source: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    doc = import_year(source, 2020, "v1", None)
    doc["ia"]["IA_CC_7"]["points"] = 10
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def test_missing_csv_falls_back_to_json_weights(tmp_path: Path) -> None:
    """An old-style year: category 'aci', weights inside measures-data.json, no CSV."""
    aci = [
        {**PI[0], "measureId": "ACI_EP_1", "category": "aci", "weight": 0, "exclusion": None},
        {**PI[1], "measureId": "ACI_PEA_1", "category": "aci", "weight": 10},
    ]
    for entry in aci:
        del entry["exclusion"]
    folder = build_source(tmp_path / "2017", 2017, [*QUALITY, IA, *aci, COST], csv_text=None)
    doc = import_year(folder, 2017, "v11.1.0", COMMIT)
    assert "pi" not in doc
    assert {k: v["weight"] for k, v in doc["aci"].items()} == {"ACI_EP_1": 0, "ACI_PEA_1": 10}
    assert doc["aci"]["ACI_EP_1"]["exclusion"] == []
    assert sorted(doc["source"]["files"]) == ["2017.json", "measures-data.json"]
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)


def test_csv_weight_wins_over_json_weight(tmp_path: Path) -> None:
    measures = [*QUALITY, IA, {**PI[0], "weight": 99}, PI[1], COST]
    folder = build_source(tmp_path / "src", measures=measures)
    assert import_year(folder, 2020, "v1", None)["pi"]["PI_EP_1"]["weight"] == 10


def test_write_reference_is_compact_sorted_and_keeps_numbers(source: Path, tmp_path: Path) -> None:
    doc = import_year(source, 2020, "v11.1.0", COMMIT)
    out = tmp_path / "out" / "ref.json"
    write_reference(doc, out)
    text = out.read_text(encoding="utf-8")
    assert text.endswith("}\n") and "\n" not in text[:-1]
    assert text.startswith('{"benchmarks":{"001|registry":{"benchmarkYear":2018,')
    assert "[100,54.55,40.0,32.14,26.89,21.43,16.67,11.76,6.45]" in text
    assert json.loads(text) == doc
    write_reference(doc, out)
    assert out.read_text(encoding="utf-8") == text


def test_run_writes_default_path(source: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    summary = run(source, 2020, "v11.1.0", COMMIT, None)
    expected = Path("rules/2020/reference/cms-measures.json")
    assert summary.out == expected and expected.is_file()
    assert summary.counts == {"quality": 3, "ia": 1, "pi": 2, "cost": 1, "benchmarks": 2}
    assert summary.bytes == expected.stat().st_size


def test_year_is_not_special(tmp_path: Path) -> None:
    folder = build_source(tmp_path / "2031", 2031)
    doc = import_year(folder, 2031, "v99", None)
    assert doc["performanceYear"] == 2031 and "2031.json" in doc["source"]["files"]


# --- bad input -----------------------------------------------------------------------------


def expect_error(folder: Path, *fragments: str, year: int = 2020) -> None:
    """Importing must raise ReferenceImportError whose message has every fragment."""
    with pytest.raises(ReferenceImportError) as info:
        import_year(folder, year, "v1", None)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("name", ["measures-data.json", "2020.json"])
def test_missing_required_file(source: Path, name: str) -> None:
    (source / name).unlink()
    expect_error(source, name, "not found", "expected a JSON array")


def test_malformed_json(source: Path) -> None:
    (source / "measures-data.json").write_text('[\n  {"measureId": "001",\n', encoding="utf-8")
    expect_error(source, "measures-data.json", "malformed JSON at line 3", "expected a JSON array")


def test_json_object_instead_of_array(source: Path) -> None:
    (source / "2020.json").write_text('{"measureId": "001"}', encoding="utf-8")
    expect_error(source, "2020.json", "top level is a JSON dict", "array of benchmark objects")


def test_missing_field_is_reported_not_a_key_error(tmp_path: Path) -> None:
    broken = {k: v for k, v in QUALITY[0].items() if k != "isInverse"}
    folder = build_source(tmp_path / "src", measures=[broken, IA, *PI, COST])
    expect_error(folder, "measures-data.json quality measure 001", "'isInverse'")


def test_wrong_field_type(tmp_path: Path) -> None:
    broken = {**QUALITY[0], "isInverse": "yes"}
    folder = build_source(tmp_path / "src", measures=[broken, IA, *PI, COST])
    expect_error(folder, "quality measure 001", "'isInverse' should be bool")


def test_benchmark_for_another_year(source: Path) -> None:
    records = json.loads((source / "2020.json").read_text(encoding="utf-8"))
    records[0]["performanceYear"] = 2019
    (source / "2020.json").write_text(json.dumps(records), encoding="utf-8")
    expect_error(source, "2020.json benchmark 001/registry", "expected 2020")


def test_csv_and_json_disagree_on_ids(source: Path) -> None:
    extra = PI_CSV + "PI_HIE_1,Support Electronic Referral Loops,x,TRUE,proportion,2019,20,hie\r\n"
    (source / "pi-measures.csv").write_text(extra, encoding="utf-8-sig")
    expect_error(source, "pi-measures.csv", "only in CSV: ['PI_HIE_1']")


def test_csv_bad_weight(source: Path) -> None:
    bad = PI_CSV.replace(",10,", ",ten,")
    (source / "pi-measures.csv").write_text(bad, encoding="utf-8-sig")
    expect_error(source, "pi-measures.csv row 2 (PI_EP_1)", "'ten' is not a number")


def test_csv_without_weight_column(source: Path) -> None:
    (source / "pi-measures.csv").write_text("measureId,title\r\nPI_EP_1,x\r\n", encoding="utf-8")
    expect_error(source, "pi-measures.csv", "'weight'")


def test_unexpected_extra_category(tmp_path: Path) -> None:
    other = {**IA, "measureId": "X_1", "category": "mystery"}
    folder = build_source(tmp_path / "src", measures=[*QUALITY, IA, *PI, COST, other])
    expect_error(folder, "measures-data.json", "['mystery', 'pi']")


def test_duplicate_measure_id(tmp_path: Path) -> None:
    folder = build_source(tmp_path / "src", measures=[*QUALITY, QUALITY[0], IA, *PI, COST])
    expect_error(folder, "duplicate quality measureId '001'")


def test_bad_commit_argument(source: Path) -> None:
    with pytest.raises(ReferenceImportError, match="commit"):
        import_year(source, 2020, "v1", "not-a-sha")
