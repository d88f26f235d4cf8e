"""The named inputs a rulebook formula may read, by the kind of formula, each with its kind.

A formula's names and types are checked against its set when the rulebook loads (engine.rules.expressions):
a typo, or a name used as the wrong kind of value (``entity_type + 1``, ``not clinicianCount``), is a load-time
error. The profile facts use the names of CMS's QPP Eligibility API.

Kinds:

- ``bool``: True or False (``and``, ``or``, ``not``, ``==``, a condition's result);
- ``number``: a Decimal (an int or float input is converted exactly, float via ``str``);
- ``string``: a str (``==``, ``!=``, ``in [...]``);
- ``string list``: a list of str, read only as ``'member' in name`` (e.g. ``'pi' in eucApproved``).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """The kind of value a name holds."""

    BOOL = "bool"
    NUMBER = "number"
    STRING = "string"
    STRING_LIST = "string list"


PROFILE_FLAGS = (
    "smallGroupPractitioner",
    "ruralClinician",
    "hpsaClinician",
    "nonPatientFacing",
    "hospitalBasedClinician",
    "ambulatorySurgicalCenter",
    "piHardship",
    "pcmh",
    "apmParticipant",
    "noQualityMeasuresApplicable",
    "eucDisasterArea",
)

ELIGIBILITY: Mapping[str, Kind] = MappingProxyType({
    "entity_type": Kind.STRING,  # individual, group, virtualGroup, apm
    "program": Kind.STRING,  # mips, app1
    "submitted_quality": Kind.BOOL,
    "submitted_ia": Kind.BOOL,
    "submitted_pi": Kind.BOOL,
    "submitted_cost": Kind.BOOL,
    "submitted_any": Kind.BOOL,
    "automatic_euc": Kind.BOOL,
    "clinicianType": Kind.STRING,  # e.g. physician, nursePractitioner ("" when the profile has none)
    "clinicianCount": Kind.NUMBER,
    "eucApproved": Kind.STRING_LIST,  # categories reweighted by an approved EUC application
    "facility_based": Kind.BOOL,
    **{flag: Kind.BOOL for flag in PROFILE_FLAGS},
})

COMPLEX_PATIENT: Mapping[str, Kind] = MappingProxyType({
    "averageHccScore": Kind.NUMBER,
    "dualEligibleRatio": Kind.NUMBER,
    "hccZScore": Kind.NUMBER,
    "dualZScore": Kind.NUMBER,
    "hccAtOrAboveMedian": Kind.BOOL,
    "dualAtOrAboveMedian": Kind.BOOL,
})

QUALITY_SUBMISSION: Mapping[str, Kind] = MappingProxyType({
    "smallGroupPractitioner": Kind.BOOL,
    "measures_submitted": Kind.NUMBER,  # the entity's scorable quality measurements
})

INPUT_SETS: Mapping[str, Mapping[str, Kind]] = MappingProxyType({
    "eligibility": ELIGIBILITY,
    "quality_submission": QUALITY_SUBMISSION,
    "complex_patient": COMPLEX_PATIENT,
})
