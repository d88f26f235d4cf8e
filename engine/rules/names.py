"""The named inputs a rulebook formula may read, by the kind of formula.

A formula's names are checked against its set when the rulebook loads; a typo is a load-time error.
The profile facts use the names of CMS's QPP Eligibility API.
"""

from __future__ import annotations

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

ELIGIBILITY = (
    "entity_type",
    "program",
    "submitted_quality",
    "submitted_ia",
    "submitted_pi",
    "submitted_cost",
    "submitted_any",
    "automatic_euc",
    "clinicianType",
    "clinicianCount",
    "eucApproved",
    "facility_based",
    *PROFILE_FLAGS,
)

COMPLEX_PATIENT = ("averageHccScore", "dualEligibleRatio", "hccZScore", "dualZScore", "hccAtOrAboveMedian",
                   "dualAtOrAboveMedian")

INPUT_SETS: dict[str, tuple[str, ...]] = {
    "eligibility": ELIGIBILITY,
    "complex_patient": COMPLEX_PATIENT,
}
