"""Every issue carries a code listed in ISSUE_CODES and a severity, and the result schema and feedback show them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from engine import score
from engine.base.schemas import validator
from engine.inputs.submission import ISSUE_CODES, SEVERITIES, Issue
from engine.outputs.feedback import render

ENGINE = Path(__file__).resolve().parents[1] / "engine"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "2020-individual-quality-ia-pi.json"


def _issue_sites() -> list[tuple[str, ast.Call]]:
    """Every ``Issue(...)`` call in the engine's sources."""
    sites = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Issue":
                sites.append((f"{path.relative_to(ENGINE.parent)}:{node.lineno}", node))
    return sites


def _codes_used() -> dict[str, set[str]]:
    """Each code the engine uses, with the severities it is used with: literal keywords at ``Issue(...)`` calls,
    and the (code, severity, message) tuples the PI and ACI ``_problem`` helpers return."""
    used: dict[str, set[str]] = {}
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Issue":
                keywords = {k.arg: k.value for k in node.keywords}
                code, severity = keywords.get("code"), keywords.get("severity")
                if isinstance(code, ast.Constant) and isinstance(severity, ast.Constant):
                    used.setdefault(code.value, set()).add(severity.value)
            if isinstance(node, ast.Tuple) and len(node.elts) == 3 and all(
                    isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts[:2]):
                code, severity = node.elts[0].value, node.elts[1].value  # type: ignore[attr-defined]
                if severity in SEVERITIES:
                    used.setdefault(code, set()).add(severity)
    return used


def test_every_issue_site_passes_a_code_and_a_severity() -> None:
    sites = _issue_sites()
    assert len(sites) >= 17  # the sites there are today; more may come
    for where, call in sites:
        assert {"code", "severity"} <= {k.arg for k in call.keywords}, where


def test_every_code_used_is_listed_and_every_listed_code_is_used() -> None:
    used = _codes_used()
    assert set(used) <= set(ISSUE_CODES), sorted(set(used) - set(ISSUE_CODES))
    assert set(ISSUE_CODES) <= set(used), sorted(set(ISSUE_CODES) - set(used))
    for code, severities in used.items():
        assert severities <= set(SEVERITIES) and len(severities) == 1, (code, severities)
    assert all(code.isidentifier() and code == code.lower() for code in ISSUE_CODES)


def test_code_and_severity_are_required_and_checked() -> None:
    with pytest.raises(TypeError):
        Issue("$", "message", "file.json")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not listed"):
        Issue("$", "message", code="no_such_code", severity="error")
    with pytest.raises(ValueError, match="severity"):
        Issue("$", "message", code="measure_unknown", severity="fatal")
    issue = Issue("$.x", "message", "file.json", code="measure_unknown", severity="error")
    assert issue.as_dict() == {"path": "$.x", "message": "message", "file": "file.json", "code": "measure_unknown",
                               "severity": "error"}


def test_issues_in_the_result_and_the_feedback() -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["measurementSets"][0]["measurements"][0]["value"]["performanceNotMet"] = -5
    doc["measurementSets"][0]["measurements"].append(dict(doc["measurementSets"][0]["measurements"][1]))
    document = score(doc, 2020).document
    assert [(i["code"], i["severity"]) for i in document["issues"]] == [
        ("measurement_duplicate", "warning"), ("value_invalid", "error")]
    assert not list(validator("result.schema.json").iter_errors(document))
    bad = json.loads(json.dumps(document))
    bad["issues"][0]["severity"] = "fatal"
    assert list(validator("result.schema.json").iter_errors(bad))
    text = render(document, "md")
    assert "- not scored: " in text and "- note: " in text
