"""SYNTHETIC populations of one performance year, for tests and benchmarks: practices (TINs), the clinicians who
bill under them (TIN/NPIs), virtual groups and APM Entities; the submissions each level sends, the facts CMS knows
about each of them (profiles) and each TIN/NPI's Medicare paid amount.

    from engine.population.synthetic import population
    people = population(2020, size=10_000, seed=1)   # 10,000 TIN/NPIs
    for document, profile in people: ...             # QPP submissions and their profiles
    people.entities                                  # per TIN/NPI: TIN, NPI, virtual group, APM Entities, paid cents

Everything here is invented: identifiers, practice sizes, memberships, counts, rates, risk scores and amounts are
drawn at random and describe no real clinician, practice, submission or payment. What is real is what the draws are
made from: the year's quality measures, their collection types and decile benchmarks (so rates land across the real
deciles), improvement activities and cost measures (the rulebook's CMS reference data); the Promoting
Interoperability (2017: Advancing Care Information) measures, attestations, exclusions and registries of the year's
pi.yaml; entity types, programs and category names (program.yaml); data completeness and the case minimum
(quality.yaml); cost case minimums (cost.yaml); the complex patient inputs the bonus formula reads (bonuses.yaml).
Shares and distributions are the generator's own parameters, declared below.

The same (year, size, seed) always gives the same population. The entity structure, profile facts, paid amounts
and who submits what are numpy columns drawn at once; each submission's measurements are drawn from its own random
source, so any range of submissions can be produced alone and a population is written without holding its
documents in memory. Every measurement is well formed and every submission is one the engine scores (none is
refused as a whole).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from engine.base.schemas import validator
from engine.rules.loader import load_rulebook
from engine.rules.model import Rulebook
from engine.scoring.kernels.cost_rows import METHOD as COST_METHOD

# ------------------------------------------------------------------------- the generator's own parameters

MAX_TIN_SIZE = 200  # clinicians in the largest practice
TIN_SIZE_EXPONENT = 1.7  # P(n clinicians) ~ n ** -1.7: ~91 % of TINs are small, holding ~35 % of TIN/NPIs
SMALL_PRACTICE = 15  # an entity of at most this many clinicians is a small practice (smallGroupPractitioner)
SECOND_TIN_SHARE = 0.05  # TIN/NPIs that are their clinician's second TIN
SECOND_TIN_ROUNDS = 8  # reshuffles to give each such clinician a TIN other than their first (else a clinician of their own)
VIRTUAL_GROUP_TIN_SIZE = 10  # practices of at most this many clinicians may form virtual groups ...
VIRTUAL_GROUP_SHARE = 0.08  # ... and this share of them do
VIRTUAL_GROUP_TINS = (2, 8)  # practices per virtual group
APM_TIN_SHARE = 0.25  # TINs whose clinicians take part in an APM Entity
APM_TINS = (1, 25)  # TINs per APM Entity
APM_LISTED_SHARE = 0.9  # TIN/NPIs of a participating TIN on the APM Entity's participation list
SECOND_APM_SHARE = 0.05  # APM participants also in a second APM Entity
PAID_MEDIAN_CENTS = 6_000_000  # Medicare paid amount per TIN/NPI: log-normal, median $60,000 ...
PAID_SIGMA = 1.1  # ... with this sigma of its logarithm

SUBMIT = {"group": 0.6, "virtualGroup": 0.9, "apm": 0.85, "individual": 0.5}  # entities that submit
COVERED_INDIVIDUAL_SUBMIT = 0.12  # an individual whose group, virtual group or APM Entity submits: submits too
APM_PROGRAMS = ("app1",)  # programs only APM participants report under (where the year's rulebook scores them)
APM_PROGRAM_SHARE = {"individual": 0.1, "group": 0.15, "apm": 0.4}  # of APM participants' submissions
STRONG_SHARE = 0.3  # strong performers: every category, rates in the top deciles, complete data
CATEGORY_SHARE = {"quality": 0.85, "ia": 0.8, "pi": 0.75}  # submissions carrying each category
STRONG_CATEGORY_SHARE = {"quality": 0.97, "ia": 0.97, "pi": 0.95}

PRACTICE_FACTS = {"ruralClinician": 0.15, "hpsaClinician": 0.10, "pcmh": 0.04, "piHardship": 0.04,
                  "eucDisasterArea": 0.05}  # profile flags of a TIN, shared by its TIN/NPIs
CLINICIAN_FACTS = {"nonPatientFacing": 0.06, "hospitalBasedClinician": 0.07, "ambulatorySurgicalCenter": 0.02,
                   "noQualityMeasuresApplicable": 0.01}  # profile flags of a TIN/NPI
FACILITY_BASED_SHARE = 0.05  # TIN/NPIs scored on quality by their facility (a quality score of 0-100)
GROUP_FACT_SHARE = 0.75  # a group, virtual group or APM Entity has a flag when more of its TIN/NPIs have it
ENTITY_PROFILE_KEYS = {  # the profile keys an entity type's profile may carry (others: every key)
    "apm": ("smallGroupPractitioner", "ruralClinician", "hpsaClinician", "apmParticipant", "clinicianCount",
            "complexPatient", "priorYearQuality", "costMeasures"),  # reweighting facts stay with the clinicians
}
PHYSICIAN_SHARE = 0.7  # clinician types: physicians, else the rulebook's PI reweighting types and these
OTHER_CLINICIAN_TYPES = ("chiropractor", "optometrist", "podiatrist")
HCC_MEDIAN, HCC_SIGMA = 1.2, 0.35  # average HCC risk score of a TIN/NPI's patients: log-normal
DUAL_BETA = (1.3, 5.0)  # dual-eligible ratio: beta distribution
PRIOR_YEAR_SHARE = 0.3  # profiles with last year's quality achievement
EUC_APPLICATION_SHARE = 0.02  # profiles with an approved EUC application (for 1-2 categories)
COST_MEASURES = (1, 5)  # cost measures CMS attributes to an entity

QUALITY_METHODS = {  # collection types an entity type reports quality by, with their odds
    "individual": {"registry": 50, "electronicHealthRecord": 35, "claims": 15},
    "group": {"registry": 50, "electronicHealthRecord": 35, "cmsWebInterface": 10, "claims": 5},
    "virtualGroup": {"registry": 55, "electronicHealthRecord": 40, "cmsWebInterface": 5},
    "apm": {"cmsWebInterface": 40, "registry": 30, "electronicHealthRecord": 30},
}
METHOD_MIN_CLINICIANS = {"cmsWebInterface": 25}  # collection types open only to entities this large
WHOLE_SET_METHODS = ("cmsWebInterface",)  # collection types that report every measure they can
QUALITY_COUNTS = {6: 60, 1: 5, 2: 5, 3: 6, 4: 6, 5: 6, 7: 6, 8: 4, 10: 2}  # measures reported, with odds
NO_BENCHMARK_SHARE = 0.08  # quality sets with one measure that has no benchmark for its collection type
SCORED_METRICS = {"singlePerformanceRate": "single", "registrySinglePerformanceRate": "single",
                  "multiPerformanceRate": "multi", "registryMultiPerformanceRate": "multi",
                  "nonProportion": "ratio"}  # metric types scored from a submission, by value shape
CASES_LOG10 = (1.4, 3.3)  # an individual's eligible population: log-uniform, 25 to 2,000 ...
CASES_SCALE = 0.8  # ... times (TIN/NPIs of the entity) ** 0.8
MAX_CASES = 10**6
BELOW_CASE_MINIMUM_SHARE = 0.04  # measurements with fewer cases than the case minimum
BELOW_COMPLETENESS_SHARE = 0.05  # measurements below the data completeness threshold
COMPLETE_SHARE = 0.7  # measurements reporting every eligible case
EXCLUSION_SHARE = 0.3  # measurements with denominator exclusions or exceptions
ANYWHERE_RATE_SHARE = 0.2  # rates drawn anywhere, not inside a benchmark decile
STRONG_DECILES = 3  # a strong performer's rates lie in the top deciles
END_TO_END = {"electronicHealthRecord": 0.6, "registry": 0.1}  # measurements reported end to end
IA_COUNTS = {1: 10, 2: 35, 3: 25, 4: 20, 6: 10}  # activities attested, with odds
IA_METHODS = {"registry": 60, "electronicHealthRecord": 30, "claims": 10}
PI_METHODS = {"electronicHealthRecord": 80, "registry": 20}
FULL_YEAR_SHARE = 0.5  # IA and PI sets covering the whole year (else 90 days)
ATTESTED_NO_SHARE = 0.03  # IA and PI sets with one required attestation answered no
CEHRT_SHARE = 0.95  # PI sets carrying a CMS EHR Certification ID
PI_RATE = (0.1, 1.0)  # PI numerator / denominator: uniform (a strong performer's from 0.85)
SUBSTITUTE_SHARE = 0.25  # PI sets reporting the substitute measure where the year has one
PI_EXCLUSION_SHARE = 0.06  # PI measures claimed as excluded
REGISTRY_YES = {1: 40, 2: 60}  # public health registries answered yes, with odds
REGISTRY_EXCLUSION_SHARE = 0.1
BONUS_SHARE = 0.4  # PI bonus measures (and bonus registries) reported
TRANSITION_SHARE = 0.3  # ACI sets (base_performance_bonus) reporting the transition measures rather than the ACI measures
MULTI_SUFFIX = "_MULTI"  # a registry record reporting a second registry of the same type

Row = tuple[dict[str, Any], dict[str, Any]]  # (QPP submission document, profile)


# ------------------------------------------------------------------------------------------ the year's data


@dataclass(frozen=True, eq=False)
class _Year:
    """What the generator draws from for one performance year, read from its rulebook."""

    year: int
    entity_types: tuple[str, ...]
    programs: tuple[str, ...]
    set_names: Mapping[str, str]  # rulebook category -> the measurement set `category` a submission uses
    categories: tuple[str, ...]
    quality: Mapping[str, Mapping[str, Any]]
    pools: Mapping[tuple[str, str, bool], tuple[str, ...]]  # (method, program, has a benchmark) -> measures
    bounds: Mapping[tuple[str, str], tuple[float, ...]]  # (measure, method) -> decile bounds
    completeness: int
    case_minimum: int
    activities: tuple[str, ...]
    pi_mechanism: str
    pi: Mapping[str, Any]  # pi.yaml values by name
    pi_reference: Mapping[str, Mapping[str, Any]]
    pi_entity_types: tuple[str, ...]
    cost: tuple[tuple[str, int, tuple[float, ...]], ...]  # (measure, case minimum, bounds); () when not scored
    complex_inputs: tuple[str, ...]
    clinician_types: tuple[str, ...]


def _pools(quality: Mapping[str, Mapping[str, Any]], benchmarks: Mapping[str, Any],
           programs: Sequence[str]) -> dict[tuple[str, str, bool], tuple[str, ...]]:
    pools: dict[tuple[str, str, bool], list[str]] = {}
    for measure, meta in sorted(quality.items()):
        if meta.get("metricType") not in SCORED_METRICS:
            continue
        allowed = meta.get("allowedPrograms") or programs
        for method in meta.get("submissionMethods") or ():
            for program in (p for p in programs if p in allowed):
                pools.setdefault((method, program, f"{measure}|{method}" in benchmarks), []).append(measure)
    return {key: tuple(measures) for key, measures in pools.items()}


def _bounds(benchmarks: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], tuple[float, ...]]:
    bounds = {}
    for key, record in benchmarks.items():
        measure, method = key.split("|", 1)
        bounds[measure, method] = tuple(float(d) for d in record["deciles"])
    return bounds


def _cost(book: Rulebook, bounds: Mapping[tuple[str, str], tuple[float, ...]]) -> tuple[tuple[str, int, tuple[float, ...]], ...]:
    minimums = book.value_or("cost.case_minimums", None)
    if not minimums:
        return ()
    return tuple((measure, int(minimums["by_measure"].get(measure, minimums["default"])), bounds.get((measure, COST_METHOD), ()))
                 for measure in sorted(book.reference.cost))


def _complex_inputs(book: Rulebook) -> tuple[str, ...]:
    """The profile's complexPatient fields the year's bonus formula reads."""
    rule = book.rules.get("bonuses.complex_patient")
    names = rule.expression.names if rule else frozenset()
    known = cast(Mapping[str, Any], validator("profile.schema.json").schema)["properties"]["complexPatient"]["properties"]
    return tuple(name for name in known if name in names)


@functools.cache
def _year(year: int) -> _Year:
    book = load_rulebook(year)
    reference = book.reference
    programs = tuple(book.value("program.programs"))
    bounds = _bounds(reference.benchmarks)
    reweighted_types = tuple(book.value_or("weights.pi_reweighting_clinician_types", ()))
    return _Year(
        year=year,
        entity_types=tuple(book.value("program.entity_types")),
        programs=programs,
        set_names={rule: name for name, rule in book.value("program.submission_categories").items()},
        categories=tuple(book.value("program.categories")),
        quality=reference.quality,
        pools=_pools(reference.quality, reference.benchmarks, programs),
        bounds=bounds,
        completeness=int(book.value("quality.data_completeness_percent")),
        case_minimum=int(book.value("quality.case_minimum")),
        activities=tuple(sorted(a for a, meta in reference.ia.items() if meta.get("weight"))),
        pi_mechanism=book.mechanisms["pi"],
        pi={address.split(".", 1)[1]: param.value for address, param in book.params.items()
            if address.startswith("pi.") and address.count(".") == 1},
        pi_reference=reference.pi,
        pi_entity_types=tuple(book.value("pi.allowed_entity_types")),
        cost=_cost(book, bounds),
        complex_inputs=_complex_inputs(book),
        clinician_types=tuple(dict.fromkeys(("physician", *reweighted_types, *OTHER_CLINICIAN_TYPES))),
    )


# ------------------------------------------------------------------------------------ the entity structure


@dataclass(frozen=True, eq=False)
class Entities:
    """The population's relations, one element per TIN/NPI: the rows of ``entities.parquet``."""

    tin: np.ndarray  # str: the practice's 9-digit TIN
    npi: np.ndarray  # str: the clinician's 10-digit NPI (a clinician in two TINs has two rows)
    virtual_group: np.ndarray  # str: the entityId of the TIN's virtual group, "" when it is in none
    apm_offsets: np.ndarray  # int64, one more than rows: row i is in apm_entities[apm_offsets[i]:apm_offsets[i + 1]]
    apm_entities: np.ndarray  # str: APM Entity entityIds
    paid_cents: np.ndarray  # int64: Medicare paid amount in cents

    def __len__(self) -> int:
        return len(self.tin)


@dataclass(frozen=True, eq=False)
class _Level:
    """The entities of one entity type: their submission header fields and their profile facts."""

    entity_type: str
    header: Mapping[str, np.ndarray]  # header key -> identifier per entity
    members: np.ndarray  # TIN/NPIs per entity (1 for an individual)
    flags: Mapping[str, np.ndarray]  # profile flag -> bool per entity
    facility: np.ndarray  # the facility-based quality score; NaN when not facility-based
    hcc: np.ndarray
    dual: np.ndarray
    clinician_type: np.ndarray | None  # index into the year's clinician types (individuals only)


@dataclass(frozen=True)
class _Risk:
    """The TIN/NPIs' risk distribution, which standardized complex patient inputs are measured against."""

    hcc_mean: float
    hcc_sd: float
    hcc_median: float
    dual_mean: float
    dual_sd: float
    dual_median: float


@dataclass(frozen=True, eq=False)
class _Submitters:
    """One element per submission: its entity, program and whether its submitter is a strong performer."""

    level: np.ndarray  # index into the population's levels
    entity: np.ndarray  # the entity's position in its level
    program: np.ndarray  # index into the year's programs
    strong: np.ndarray


def _identifiers(rng: np.random.Generator, count: int, digits: int, prefix: str = "") -> np.ndarray:
    """``count`` distinct identifiers: ``prefix`` and ``digits`` digits, an affine permutation of the numbers."""
    modulus = 10**digits
    if count > modulus:
        raise ValueError(f"{count} identifiers do not fit in {digits} digits")
    step = int(rng.integers(0, modulus // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))  # coprime to 10 ** digits
    numbers = (np.arange(count, dtype=np.int64) * step + int(rng.integers(0, modulus))) % modulus
    return np.asarray([f"{prefix}{number:0{digits}d}" for number in numbers.tolist()], dtype=np.str_)


def _tin_sizes(rng: np.random.Generator, size: int) -> np.ndarray:
    """Clinicians per TIN, power-law distributed on 1..MAX_TIN_SIZE, summing to ``size``."""
    support = np.arange(1, MAX_TIN_SIZE + 1)
    odds = support ** -TIN_SIZE_EXPONENT
    odds /= odds.sum()
    sizes = np.zeros(0, dtype=np.int64)
    while sizes.sum() < size:
        sizes = np.concatenate([sizes, rng.choice(support, int(size / (support * odds).sum()) + 16, p=odds)])
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), size)) + 1]
    sizes[-1] -= sizes.sum() - size
    return sizes


def _split(rng: np.random.Generator, total: int, low: int, high: int) -> np.ndarray:
    """Sizes of low..high summing to at most ``total`` (a short last one joins the one before)."""
    if total < low:
        return np.zeros(0, dtype=np.int64)
    counts = rng.integers(low, high + 1, total // low + 1)
    counts = counts[: int(np.searchsorted(np.cumsum(counts), total)) + 1]
    counts[-1] -= counts.sum() - total
    if counts[-1] < low:
        counts[-2] += counts[-1]
        counts = counts[:-1]
    return counts


def _clinicians(rng: np.random.Generator, tin: np.ndarray) -> np.ndarray:
    """The clinician of each TIN/NPI; a share of TIN/NPIs are the second TIN of a clinician billing elsewhere."""
    rows = len(tin)
    second = np.sort(rng.choice(rows, int(rows * SECOND_TIN_SHARE), replace=False))
    first = np.setdiff1d(np.arange(rows), second, assume_unique=True)
    npi = np.empty(rows, dtype=np.int64)
    npi[first] = rng.permutation(len(first))
    owner = rng.choice(first, len(second), replace=False)  # the row of the clinician's first TIN
    for _ in range(SECOND_TIN_ROUNDS):  # a clinician's two TINs differ: shuffle the clashing owners among others
        clash = np.flatnonzero(tin[owner] == tin[second])
        if not len(clash):
            break
        pool = np.union1d(clash, rng.choice(len(second), min(len(second), 2 * len(clash) + 1), replace=False))
        owner[pool] = owner[rng.permutation(pool)]
    npi[second] = npi[owner]
    clash = tin[owner] == tin[second]
    npi[second[clash]] = len(first) + np.arange(int(clash.sum()))  # no other TIN found: a clinician of their own
    return npi


def _virtual_groups(rng: np.random.Generator, sizes: np.ndarray, scored: bool) -> np.ndarray:
    """The virtual group of each TIN, -1 for none (and for all when the year has no virtual groups)."""
    group = np.full(len(sizes), -1, dtype=np.int64)
    eligible = np.flatnonzero(sizes <= VIRTUAL_GROUP_TIN_SIZE)
    joining = rng.permutation(eligible[rng.random(len(eligible)) < VIRTUAL_GROUP_SHARE]) if scored else eligible[:0]
    counts = _split(rng, len(joining), *VIRTUAL_GROUP_TINS)
    group[joining[: counts.sum()]] = np.repeat(np.arange(len(counts)), counts)
    return group


def _apm_memberships(rng: np.random.Generator, tin: np.ndarray, tins: int) -> np.ndarray:
    """Each TIN/NPI's APM Entities: two columns, -1 for none."""
    joining = rng.permutation(np.flatnonzero(rng.random(tins) < APM_TIN_SHARE))
    counts = _split(rng, len(joining), *APM_TINS)
    of_tin = np.full(tins, -1, dtype=np.int64)
    of_tin[joining[: counts.sum()]] = np.repeat(np.arange(len(counts)), counts)
    apm = np.full((len(tin), 2), -1, dtype=np.int64)
    apm[:, 0] = np.where(rng.random(len(tin)) < APM_LISTED_SHARE, of_tin[tin], -1)
    if len(counts) > 1:
        second = (apm[:, 0] >= 0) & (rng.random(len(tin)) < SECOND_APM_SHARE)
        apm[second, 1] = (apm[second, 0] + rng.integers(1, len(counts), int(second.sum()))) % len(counts)
    return apm


def _entities(rng: np.random.Generator, tin: np.ndarray, npi: np.ndarray, groups: np.ndarray, apm: np.ndarray,
              ids: Mapping[str, np.ndarray]) -> Entities:
    listed = apm >= 0
    offsets = np.concatenate([[0], np.cumsum(listed.sum(axis=1))]).astype(np.int64)
    return Entities(
        tin=ids["tin"][tin], npi=ids["npi"][npi],
        virtual_group=np.append(ids["virtualGroup"], "")[groups[tin]],  # -1 (none) picks the ""
        apm_offsets=offsets, apm_entities=ids["apm"][apm[listed]],
        paid_cents=np.rint(np.exp(rng.normal(math.log(PAID_MEDIAN_CENTS), PAID_SIGMA, len(tin)))).astype(np.int64))


# ---------------------------------------------------------------------------------------------- the levels


@dataclass(frozen=True, eq=False)
class _Facts:
    """Facts of each TIN/NPI, which an entity's profile aggregates."""

    flags: Mapping[str, np.ndarray]
    facility: np.ndarray  # bool
    score: np.ndarray  # the facility's quality score
    hcc: np.ndarray
    dual: np.ndarray
    practice_size: np.ndarray


def _facts(rng: np.random.Generator, tin: np.ndarray, sizes: np.ndarray, apm: np.ndarray) -> _Facts:
    rows = len(tin)
    flags = {name: (rng.random(len(sizes)) < share)[tin] for name, share in PRACTICE_FACTS.items()}
    flags.update({name: rng.random(rows) < share for name, share in CLINICIAN_FACTS.items()})
    flags["apmParticipant"] = apm[:, 0] >= 0
    return _Facts(flags, rng.random(rows) < FACILITY_BASED_SHARE, np.round(rng.uniform(0, 100, rows), 2),
                  np.exp(rng.normal(math.log(HCC_MEDIAN), HCC_SIGMA, rows)), rng.beta(*DUAL_BETA, rows), sizes[tin])


def _level(entity_type: str, facts: _Facts, entity: np.ndarray, rows: np.ndarray, count: int,
           header: Mapping[str, np.ndarray], clinician_type: np.ndarray | None = None) -> _Level:
    """An entity type's level from its memberships: TIN/NPI ``rows[k]`` belongs to entity ``entity[k]``. An
    individual (one with a clinician type) is a small practice by its TIN's size, any other entity by its own."""
    members = np.bincount(entity, minlength=count)
    divisor = np.maximum(members, 1)

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(entity, weights=values[rows].astype(np.float64), minlength=count)

    flags = {name: total(values) / divisor > GROUP_FACT_SHARE for name, values in facts.flags.items()}
    size = facts.practice_size[rows] if clinician_type is not None else members
    flags["smallGroupPractitioner"] = size <= SMALL_PRACTICE
    based = total(facts.facility)
    facility = np.where(based / divisor > GROUP_FACT_SHARE, total(facts.score * facts.facility) / np.maximum(based, 1), np.nan)
    return _Level(entity_type, header, members, flags, facility, total(facts.hcc) / divisor, total(facts.dual) / divisor,
                  clinician_type)


def _levels(rng: np.random.Generator, data: _Year, facts: _Facts, tin: np.ndarray, npi: np.ndarray,
            groups: np.ndarray, apm: np.ndarray, ids: Mapping[str, np.ndarray]) -> dict[str, _Level]:
    rows = np.arange(len(tin))
    in_group = np.flatnonzero(groups[tin] >= 0)
    listed = np.flatnonzero(apm.reshape(-1) >= 0)
    types = np.where(rng.random(int(npi.max()) + 1) < PHYSICIAN_SHARE, 0,
                     rng.integers(1, len(data.clinician_types), int(npi.max()) + 1))
    levels = {
        "individual": _level("individual", facts, rows, rows, len(tin),
                             {"taxpayerIdentificationNumber": ids["tin"][tin], "nationalProviderIdentifier": ids["npi"][npi]},
                             types[npi]),
        "group": _level("group", facts, tin, rows, len(ids["tin"]), {"taxpayerIdentificationNumber": ids["tin"]}),
        "virtualGroup": _level("virtualGroup", facts, groups[tin][in_group], in_group, len(ids["virtualGroup"]),
                               {"entityId": ids["virtualGroup"]}),
        "apm": _level("apm", facts, apm.reshape(-1)[listed], listed // 2, len(ids["apm"]), {"entityId": ids["apm"]}),
    }
    return {name: level for name, level in levels.items() if name in data.entity_types}


def _submitters(rng: np.random.Generator, data: _Year, levels: Mapping[str, _Level], tin: np.ndarray,
                groups: np.ndarray, apm: np.ndarray) -> tuple[tuple[_Level, ...], _Submitters]:
    """Who submits: groups of two or more outside virtual groups, virtual groups, APM Entities, and individuals
    (fewer where one of their entities submits)."""
    chosen = {name: rng.random(len(level.members)) < SUBMIT[name] for name, level in levels.items() if name != "individual"}
    if "group" in chosen:
        chosen["group"] &= (levels["group"].members >= 2) & (groups < 0)
    covered = np.zeros(len(tin), dtype=bool)
    for name, of_row in (("group", tin), ("virtualGroup", groups[tin]), ("apm", apm[:, 0])):
        if name in chosen:
            covered |= np.append(chosen[name], False)[of_row]  # -1 (none) picks the False
    if "individual" in levels:
        chosen["individual"] = rng.random(len(tin)) < np.where(covered, COVERED_INDIVIDUAL_SUBMIT, SUBMIT["individual"])
    order = tuple(levels.values())
    entity = [np.flatnonzero(chosen[level.entity_type]) for level in order]
    level = np.repeat(np.arange(len(order), dtype=np.int8), [len(e) for e in entity])
    participant = np.concatenate([order[i].flags["apmParticipant"][e] for i, e in enumerate(entity)] or [np.zeros(0, bool)])
    share = np.asarray([APM_PROGRAM_SHARE.get(level.entity_type, 0.0) for level in order])[level]
    default = next(i for i, p in enumerate(data.programs) if p not in APM_PROGRAMS)
    apm_program = next((i for i, p in enumerate(data.programs) if p in APM_PROGRAMS), default)
    program = np.where(participant & (rng.random(len(level)) < share), apm_program, default).astype(np.int8)
    return order, _Submitters(level, np.concatenate(entity or [np.zeros(0, np.int64)]), program,
                              rng.random(len(level)) < STRONG_SHARE)


# ------------------------------------------------------------------------------------------ the population


@dataclass(frozen=True, eq=False)
class Population:
    """A SYNTHETIC population of one performance year (see the module's docstring): its relations
    (``entities``) and its submissions, iterated as (QPP submission document, profile) pairs in order."""

    year: int
    size: int
    seed: int
    entities: Entities = field(repr=False)
    _data: _Year = field(repr=False)
    _levels: tuple[_Level, ...] = field(repr=False)
    _submitters: _Submitters = field(repr=False)
    _risk: _Risk = field(repr=False)

    def __len__(self) -> int:
        return len(self._submitters.level)

    def __iter__(self) -> Iterator[Row]:
        return self.rows()

    def rows(self, start: int = 0, stop: int | None = None) -> Iterator[Row]:
        """Submissions ``start`` to ``stop`` (exclusive), each with its profile."""
        for index in range(start, len(self) if stop is None else min(stop, len(self))):
            yield self.row(index)

    def row(self, index: int) -> Row:
        """Submission ``index`` and its profile: the same whatever else is drawn."""
        who = self._submitters
        level, entity = self._levels[who.level[index]], int(who.entity[index])
        program, strong = self._data.programs[who.program[index]], bool(who.strong[index])
        draw = random.Random(f"{self.year}:{self.size}:{self.seed}:{index}")
        document = _header(self._data, level, entity, program, index)
        document["measurementSets"] = _sets(self._data, draw, level, entity, program, strong)
        return document, _profile(self._data, draw, level, entity, self._risk)

    def counts(self) -> dict[str, int]:
        """Submissions per entity type."""
        found = np.bincount(self._submitters.level, minlength=len(self._levels))
        return {level.entity_type: int(n) for level, n in zip(self._levels, found, strict=True)}


def population(year: int, size: int, seed: int) -> Population:
    """A synthetic population of ``size`` TIN/NPIs for performance ``year``, drawn from ``seed``."""
    if size < 1:
        raise ValueError(f"a population needs at least one TIN/NPI, not {size}")
    data = _year(year)
    rng = np.random.default_rng([seed, year, size])
    sizes = _tin_sizes(rng, size)
    tin = np.repeat(np.arange(len(sizes)), sizes)
    npi = _clinicians(rng, tin)
    groups = _virtual_groups(rng, sizes, "virtualGroup" in data.entity_types)
    apm = _apm_memberships(rng, tin, len(sizes))
    ids = {"tin": _identifiers(rng, len(sizes), 9), "npi": _identifiers(rng, int(npi.max()) + 1, 9, "1"),
           "virtualGroup": _identifiers(rng, int(groups.max()) + 1, 6, "VG"),
           "apm": _identifiers(rng, int(apm.max()) + 1, 5, "A")}
    entities = _entities(rng, tin, npi, groups, apm, ids)
    facts = _facts(rng, tin, sizes, apm)
    levels, submitters = _submitters(rng, data, _levels(rng, data, facts, tin, npi, groups, apm, ids), tin, groups, apm)
    risk = _Risk(float(facts.hcc.mean()), float(facts.hcc.std()) or 1.0, float(np.median(facts.hcc)),
                 float(facts.dual.mean()), float(facts.dual.std()) or 1.0, float(np.median(facts.dual)))
    return Population(year, size, seed, entities, data, levels, submitters, risk)


# --------------------------------------------------------------------------------------------- documents


def _pick(draw: random.Random, odds: Mapping[Any, float]) -> Any:
    """One outcome, drawn by its odds."""
    roll = draw.random() * sum(odds.values())
    outcomes = iter(odds.items())
    outcome, weight = next(outcomes)
    while roll >= weight:
        roll -= weight
        outcome, weight = next(outcomes, (outcome, math.inf))  # past the last (rounding): the last
    return outcome


def _number(value: float) -> int | float:
    """A JSON number: an int when whole."""
    return int(value) if float(value).is_integer() else value


def _record(measure: str, value: Any) -> dict[str, Any]:
    return {"measureId": measure, "value": value}


def _header(data: _Year, level: _Level, entity: int, program: str, index: int) -> dict[str, Any]:
    document: dict[str, Any] = {"id": f"S{index:08d}", "entityType": level.entity_type}
    document.update({key: str(values[entity]) for key, values in level.header.items()})
    document["performanceYear"] = data.year
    if program in APM_PROGRAMS:
        document["programName"] = program
    return document


def _set(data: _Year, draw: random.Random, category: str, method: str, program: str, records: list[dict[str, Any]],
         full_year: bool) -> dict[str, Any]:
    if full_year:
        start, end = f"{data.year}-01-01", f"{data.year}-12-31"
    else:
        first = dt.date(data.year, 1, 1) + dt.timedelta(days=draw.randint(0, 270))
        start, end = first.isoformat(), (first + dt.timedelta(days=89)).isoformat()
    return {"category": data.set_names[category], "submissionMethod": method, "programName": program,
            "performanceStart": start, "performanceEnd": end, "measurements": records}


def _sets(data: _Year, draw: random.Random, level: _Level, entity: int, program: str, strong: bool) -> list[dict[str, Any]]:
    """The measurement sets of one submission: some categories, never none."""
    share = STRONG_CATEGORY_SHARE if strong else CATEGORY_SHARE
    members = int(level.members[entity])
    sets = []
    if draw.random() < share["quality"]:
        sets += _quality_set(data, draw, level.entity_type, program, members, strong)
    if draw.random() < share["ia"]:
        sets.append(_ia_set(data, draw, program, strong))
    if level.entity_type in data.pi_entity_types and draw.random() < share["pi"]:
        sets.append(_pi_set(data, draw, program, members ** CASES_SCALE, strong))
    return sets or [_ia_set(data, draw, program, strong)]


# ----------------------------------------------------------------------------------------------- quality


def _target(draw: random.Random, bounds: Sequence[float], strong: bool, top: float) -> float:
    """A rate inside a random decile of the benchmark (a top one for a strong performer), or anywhere to ``top``."""
    if len(bounds) > 1 and (strong or draw.random() >= ANYWHERE_RATE_SHARE):
        decile = draw.randrange(max(0, len(bounds) - 1 - STRONG_DECILES) if strong else 0, len(bounds) - 1)
        low, high = sorted((bounds[decile], bounds[decile + 1]))
        return draw.uniform(low, high)
    return draw.uniform(0.0, top)


def _cases(data: _Year, draw: random.Random, scale: float) -> int:
    if draw.random() < BELOW_CASE_MINIMUM_SHARE:
        return draw.randint(1, max(1, data.case_minimum - 1))
    return min(MAX_CASES, int(scale * 10 ** draw.uniform(*CASES_LOG10)))


def _reported(data: _Year, draw: random.Random, eligible: int, strong: bool) -> int:
    """Cases reported of ``eligible``: all, enough for data completeness, or (now and then) too few."""
    needed = math.ceil(eligible * data.completeness / 100)
    if not strong and needed and draw.random() < BELOW_COMPLETENESS_SHARE:
        return draw.randint(0, needed - 1)
    return eligible if strong or draw.random() < COMPLETE_SHARE else draw.randint(needed, eligible)


def _counts(data: _Year, draw: random.Random, rate: float, eligible: int, strong: bool) -> dict[str, int]:
    reported = _reported(data, draw, eligible, strong)
    exclusion = exception = 0
    if reported and draw.random() < EXCLUSION_SHARE:
        exclusion = draw.randint(0, reported // 10)
        exception = draw.randint(0, (reported - exclusion) // 20)
    performed = reported - exclusion - exception
    met = min(performed, max(0, round(performed * rate / 100)))
    return {"performanceMet": met, "performanceNotMet": performed - met, "eligiblePopulationExclusion": exclusion,
            "eligiblePopulationException": exception, "eligiblePopulation": eligible}


def _ratio(data: _Year, draw: random.Random, bounds: Sequence[float], cases: int, strong: bool) -> dict[str, Any]:
    """A non-proportion measurement: a ratio (never below 0) of a number of observations."""
    ratio = max(0.0, _target(draw, bounds, strong, max((b for b in bounds if b > 0), default=100.0)))
    return {"numerator": _number(round(ratio * cases, 4)), "denominator": cases,
            "observationInstances": _reported(data, draw, cases, strong), "denominatorException": 0,
            "numeratorExclusion": 0}


def _strata(data: _Year, draw: random.Random, meta: Mapping[str, Any], rate: float, cases: int,
            strong: bool) -> list[dict[str, Any]]:
    names = [name for name in meta.get("strata") or () if name]
    return [{"stratum": name, **_counts(data, draw, min(100.0, max(0.0, rate + draw.uniform(-5, 5))),
                                        draw.randint(max(1, cases // 3), cases), strong)} for name in names]


def _quality_value(data: _Year, draw: random.Random, measure: str, method: str, scale: float, strong: bool) -> dict[str, Any]:
    meta = data.quality[measure]
    shape = SCORED_METRICS[meta["metricType"]]
    bounds = data.bounds.get((measure, method), ())
    cases = _cases(data, draw, scale)
    value: dict[str, Any] = {"isEndToEndReported": draw.random() < END_TO_END.get(method, 0.0)}
    if shape == "ratio":
        return value | _ratio(data, draw, bounds, cases, strong)
    rate = _target(draw, [b for b in bounds if 0 <= b <= 100], strong, 100.0)
    if shape == "multi":
        return value | {"strata": _strata(data, draw, meta, rate, cases, strong)}
    return value | _counts(data, draw, rate, cases, strong)


def _quality_measures(data: _Year, draw: random.Random, method: str, program: str, strong: bool) -> list[str]:
    pool = data.pools[(method, program, True)]
    if method in WHOLE_SET_METHODS or program in APM_PROGRAMS:
        return list(pool)
    chosen = draw.sample(pool, min(len(pool), _pick(draw, QUALITY_COUNTS)))
    others = data.pools.get((method, program, False), ())
    if others and not strong and draw.random() < NO_BENCHMARK_SHARE:
        chosen[-1] = draw.choice(others)
    return list(dict.fromkeys(chosen))


def _quality_set(data: _Year, draw: random.Random, entity_type: str, program: str, members: int,
                 strong: bool) -> list[dict[str, Any]]:
    """A quality set by one collection type the entity may use (none when it may use none)."""
    odds = {method: weight for method, weight in QUALITY_METHODS[entity_type].items()
            if members >= METHOD_MIN_CLINICIANS.get(method, 1) and (method, program, True) in data.pools}
    if not odds:
        return []
    method = _pick(draw, odds)
    scale = members**CASES_SCALE
    records = [_record(measure, _quality_value(data, draw, measure, method, scale, strong))
               for measure in _quality_measures(data, draw, method, program, strong)]
    return [_set(data, draw, "quality", method, program, records, full_year=True)]


# --------------------------------------------------------------------------------- improvement activities


def _ia_set(data: _Year, draw: random.Random, program: str, strong: bool) -> dict[str, Any]:
    chosen = draw.sample(data.activities, min(len(data.activities), _pick(draw, IA_COUNTS) + strong))
    records = [_record(activity, strong or draw.random() >= ATTESTED_NO_SHARE) for activity in chosen]
    return _set(data, draw, "ia", _pick(draw, IA_METHODS), program, records, draw.random() < FULL_YEAR_SHARE)


# ----------------------------------------------------------------------------- promoting interoperability


def _proportion(draw: random.Random, scale: float, strong: bool) -> dict[str, int]:
    denominator = max(1, min(MAX_CASES, int(scale * 10 ** draw.uniform(*CASES_LOG10))))
    rate = draw.uniform(max(PI_RATE[0], 0.85) if strong else PI_RATE[0], PI_RATE[1])
    return {"numerator": max(1, round(denominator * rate)), "denominator": denominator}


def _pi_value(data: _Year, draw: random.Random, measure: str, scale: float, strong: bool) -> Any:
    if data.pi_reference.get(measure, {}).get("metricType") == "boolean":
        return True
    return _proportion(draw, scale, strong)


def _attestations(draw: random.Random, required: Sequence[str], answers: Sequence[str], strong: bool) -> list[dict[str, Any]]:
    """Required attestations answered yes (now and then one no); required answers yes or no."""
    values = dict.fromkeys(required, True)
    if required and not strong and draw.random() < ATTESTED_NO_SHARE:
        values[draw.choice(list(required))] = False
    values.update({answer: draw.random() < 0.7 for answer in answers})
    return [_record(measure, value) for measure, value in values.items()]


def _pi_measures(data: _Year, draw: random.Random, scale: float, strong: bool) -> list[dict[str, Any]]:
    """Performance measures: an exclusion in place of some, the substitute in place of those it replaces."""
    measures = data.pi["measures"]
    substitute = next((m for m, spec in measures.items() if spec.get("substitutes")), None)
    used = substitute is not None and draw.random() < SUBSTITUTE_SHARE
    replaced = set(measures[substitute]["substitutes"]) if used and substitute else set()
    exclusion_of = {spec["excludes"]: name for name, spec in data.pi["exclusions"].items()}
    records = []
    for measure in measures:
        if measure in replaced or (measure == substitute and not used):
            continue
        if measure in exclusion_of and not strong and draw.random() < PI_EXCLUSION_SHARE:
            records.append(_record(exclusion_of[measure], True))
        else:
            records.append(_record(measure, True if measure == substitute else _pi_value(data, draw, measure, scale, strong)))
    return records


def _public_health(draw: random.Random, health: Mapping[str, Any], strong: bool) -> list[dict[str, Any]]:
    registries = [m for m in health["measures"] if not m.endswith(MULTI_SUFFIX)]
    yes = draw.sample(registries, len(registries) if strong else min(len(registries), _pick(draw, REGISTRY_YES)))
    records = [_record(m, True) for m in yes]
    if health["exclusion_measures"] and draw.random() < REGISTRY_EXCLUSION_SHARE:
        records.append(_record(draw.choice(health["exclusion_measures"]), True))
    bonus = (health.get("bonus_any") or {}).get("measures", ())
    if bonus and draw.random() < BONUS_SHARE:
        records.append(_record(draw.choice(bonus), True))
    return records


def _pi_records(data: _Year, draw: random.Random, scale: float, strong: bool) -> list[dict[str, Any]]:
    """A Promoting Interoperability set's records by the year's pi.yaml (mechanism measure_points)."""
    rules = data.pi
    records = _attestations(draw, rules["required_attestations"], rules.get("required_answers", ()), strong)
    records += _pi_measures(data, draw, scale, strong)
    records += _public_health(draw, rules["public_health"], strong)
    records += [_record(m, True) for m in rules["bonus_measures"] if draw.random() < BONUS_SHARE]
    return records


def _aci_records(data: _Year, draw: random.Random, scale: float, strong: bool) -> list[dict[str, Any]]:
    """An Advancing Care Information set (mechanism base_performance_bonus): the ACI or the transition measures."""
    rules = data.pi
    transition = draw.random() < TRANSITION_SHARE
    common = set(rules["common_categories"])
    exclusion_of = {target: name for name, target in rules["base_exclusions"].items()}
    records = _attestations(draw, rules["required_attestations"], (), strong)
    for measure, meta in sorted(data.pi_reference.items()):
        category = meta.get("reportingCategory")
        in_set = (rules["transition_set_marker"] in (meta.get("measureSets") or ())) == transition
        if not in_set or category in common or measure in rules["base_exclusions"]:
            continue
        if meta.get("isRequired") and measure in exclusion_of and not strong and draw.random() < PI_EXCLUSION_SHARE:
            records.append(_record(exclusion_of[measure], True))
        elif meta.get("isRequired") or strong or draw.random() < BONUS_SHARE:
            records.append(_record(measure, _pi_value(data, draw, measure, scale, strong)))
    if strong or draw.random() < BONUS_SHARE:
        records.append(_record(rules["cehrt_bonus"]["measure"], True))
    return records


PI_RECORDS: dict[str, Callable[[_Year, random.Random, float, bool], list[dict[str, Any]]]] = {
    "measure_points": _pi_records, "base_performance_bonus": _aci_records}  # by the PI mechanism of pi.yaml


def _pi_set(data: _Year, draw: random.Random, program: str, scale: float, strong: bool) -> dict[str, Any]:
    if data.pi_mechanism not in PI_RECORDS:
        raise ValueError(f"no synthetic Promoting Interoperability records for mechanism {data.pi_mechanism!r}")
    records = PI_RECORDS[data.pi_mechanism](data, draw, scale, strong)
    measurement_set = _set(data, draw, "pi", _pick(draw, PI_METHODS), program, records, draw.random() < FULL_YEAR_SHARE)
    if strong or draw.random() < CEHRT_SHARE:
        measurement_set["cehrtId"] = "0015C8" + "".join(draw.choices("0123456789ABCDEFGHJK", k=9))
    return measurement_set


# ---------------------------------------------------------------------------------------------- profiles


def _complex_patient(data: _Year, hcc: float, dual: float, risk: _Risk) -> dict[str, Any]:
    """The complex patient inputs the year's formula reads, from the entity's average risk."""
    facts = {"averageHccScore": round(hcc, 4), "dualEligibleRatio": round(dual, 4),
             "hccZScore": round((hcc - risk.hcc_mean) / risk.hcc_sd, 4),
             "dualZScore": round((dual - risk.dual_mean) / risk.dual_sd, 4),
             "hccAtOrAboveMedian": hcc >= risk.hcc_median, "dualAtOrAboveMedian": dual >= risk.dual_median}
    return {name: facts[name] for name in data.complex_inputs if name in facts}


def _cost_measures(data: _Year, draw: random.Random, members: int) -> list[dict[str, Any]]:
    """Cost measures CMS attributes: cases around each measure's case minimum, costs across its deciles."""
    chosen = draw.sample(data.cost, min(len(data.cost), draw.randint(*COST_MEASURES)))
    return [{"measureId": measure, "attributedCases": int(minimum * members**CASES_SCALE * 10 ** draw.uniform(-0.5, 1.5)),
             "score": round(_target(draw, bounds, False, max(bounds, default=60_000.0)), 2)}
            for measure, minimum, bounds in chosen]


def _profile(data: _Year, draw: random.Random, level: _Level, entity: int, risk: _Risk) -> dict[str, Any]:
    """Facts the submission does not carry: flags, size, facility score, risk, last year, EUC, cost."""
    profile: dict[str, Any] = {name: True for name, values in level.flags.items() if values[entity]}
    if level.clinician_type is not None:
        profile["clinicianType"] = data.clinician_types[level.clinician_type[entity]]
    else:
        profile["clinicianCount"] = int(level.members[entity])
    if not math.isnan(level.facility[entity]):
        profile["facilityBased"] = {"qualityScore": _number(round(float(level.facility[entity]), 2))}
    complex_patient = _complex_patient(data, float(level.hcc[entity]), float(level.dual[entity]), risk)
    if complex_patient:
        profile["complexPatient"] = complex_patient
    if draw.random() < PRIOR_YEAR_SHARE:
        profile["priorYearQuality"] = {"achievementPercent": round(draw.uniform(20, 95), 2),
                                       "fullParticipation": draw.random() < 0.8}
    if draw.random() < EUC_APPLICATION_SHARE:
        profile["eucApproved"] = sorted(draw.sample(data.categories, draw.randint(1, 2)))
    if data.cost:
        profile["costMeasures"] = _cost_measures(data, draw, int(level.members[entity]))
    keep = ENTITY_PROFILE_KEYS.get(level.entity_type)
    return {key: value for key, value in profile.items() if key in keep} if keep else profile
