"""Clinician profiles: the facts CMS knows about a clinician that a submission does not carry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from engine.base.errors import Location, ProfileError
from engine.base.schemas import schema_errors

# Eligibility API fields that carry over to the profile unchanged, and those renamed.
_SCENARIO_KEYS = ("smallGroupPractitioner", "ruralClinician", "hpsaClinician", "nonPatientFacing",
                  "hospitalBasedClinician", "ambulatorySurgicalCenter")
_RENAMED = {"aciHardship": "piHardship"}
# Facts the response states but cannot give as scoring needs them: the user must supply them.
_NEEDS_DETAIL = {
    "isFacilityBased": "facilityBased.qualityScore (the quality score CMS mapped from the facility's "
                       "Hospital VBP percentile; the response gives only the VBP score)",
    "extremeHardship": "eucApproved (the categories the approved extreme and uncontrollable circumstances "
                       "application reweights)",
}


def _from_eligibility_response(doc: dict, name: str) -> dict:
    """The first organization's scenario of a QPP Eligibility API response, in profile names."""
    organizations = doc.get("data", {}).get("organizations") or []
    if not organizations:
        raise ProfileError(Location(name, pointer="/data/organizations"), "the eligibility response lists no organization")
    organization = organizations[0]
    scenario = organization.get("individualScenario") or organization.get("groupScenario") or {}
    for key, needed in _NEEDS_DETAIL.items():
        if scenario.get(key) is True:
            raise ProfileError(Location(name, pointer=f"/data/organizations/0/…Scenario/{key}"),
                               f"{key} is true, which scoring needs in more detail",
                               f"write a profile file with {needed}")
    profile = {k: scenario[k] for k in _SCENARIO_KEYS if isinstance(scenario.get(k), bool)}
    profile.update({new: scenario[old] for old, new in _RENAMED.items() if isinstance(scenario.get(old), bool)})
    return profile


def load_profile(path: Path | str | None) -> dict[str, Any]:
    """Read a profile YAML/JSON file (the project's format, or an Eligibility API response)."""
    if path is None:
        return {}
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
    except OSError as exc:
        raise ProfileError(Location(name), f"cannot read file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ProfileError(Location(name, mark.line + 1 if mark else None), "not valid YAML or JSON") from None
    return check_profile(doc, name)


def check_profile(doc: Any, name: str = "<profile>") -> dict[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict) and "organizations" in doc["data"]:
        doc = _from_eligibility_response(doc, name)
    problems = schema_errors("profile.schema.json", doc)
    if problems:
        message, hint, pointer = problems[0]
        raise ProfileError(Location(name, pointer=pointer), message, hint)
    return json.loads(json.dumps(doc))
