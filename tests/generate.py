"""Seeded generator of realistic QPP submissions and clinician profiles, for property and differential tests.

    from tests.generate import submissions
    for document, profile in submissions(2020, count=100, seed=1):
        score(document, 2020, profile=profile)

Everything is drawn from the year's own files, read directly (no engine import): entity types, programs and
category names from rules/<year>/program.yaml; quality measures, benchmarks, activities, PI (ACI in 2017) and
cost measures from rules/<year>/reference/cms-measures.json; data completeness and the case minimum from
quality.yaml; suppressed.yaml; attestations, measures, exclusions and registries from pi.yaml; cost case minimums
from cost.yaml; the complex patient inputs the formula of bonuses.yaml reads.

The same (year, count, seed) always gives the same list, and document i does not depend on count. About 3 % of
the quality measurements and PI records are malformed on purpose (negative or string counts, more cases than the
eligible population, ...) so that per-measurement issues are exercised. No document of ``submissions`` is one the
engine must refuse as a whole; ``refused_submissions`` lists those, each with the reason.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
YEARS = (2017, 2020, 2021, 2022)
MALFORMED = 0.03  # share of quality measurements and PI records damaged on purpose
SCORABLE_METRICS = {"singlePerformanceRate", "registrySinglePerformanceRate", "multiPerformanceRate",
                    "registryMultiPerformanceRate", "nonProportion"}
MULTI_RATE_METRICS = {"multiPerformanceRate", "registryMultiPerformanceRate"}
COST_PROFILE_YEARS = (2017, 2022)  # years whose profiles carry costMeasures (2017: reported, weighted 0 %)
ENTITY_ODDS = {"individual": 50, "group": 30, "virtualGroup": 8, "apm": 12}
QUALITY_METHODS = {  # collection types an entity reports quality by, with their odds
    "individual": {"registry": 50, "electronicHealthRecord": 35, "claims": 15},
    "group": {"registry": 50, "electronicHealthRecord": 35, "cmsWebInterface": 8, "claims": 5, "certifiedSurveyVendor": 2},
    "virtualGroup": {"registry": 55, "electronicHealthRecord": 40, "cmsWebInterface": 5},
    "apm": {"cmsWebInterface": 40, "registry": 30, "electronicHealthRecord": 30},
}
SCENARIOS = {"typical": 40, "bound": 14, "zero": 6, "full": 6, "empty": 4, "completeness_below": 6,
             "completeness_at": 6, "cases_below": 5, "cases_at": 5, "large": 5, "tiny": 3}
FLAG_ODDS = {"smallGroupPractitioner": 0.25, "ruralClinician": 0.12, "hpsaClinician": 0.10, "nonPatientFacing": 0.08,
             "hospitalBasedClinician": 0.08, "ambulatorySurgicalCenter": 0.03, "piHardship": 0.06, "pcmh": 0.04,
             "apmParticipant": 0.12, "noQualityMeasuresApplicable": 0.02, "eucDisasterArea": 0.08}
OTHER_CLINICIAN_TYPES = ("certifiedNurseMidwife", "chiropractor", "optometrist")
PI_REWEIGHT_FLAGS = ("piHardship", "hospitalBasedClinician", "nonPatientFacing", "ambulatorySurgicalCenter")

Record = dict[str, Any]
Pair = tuple[dict, dict]


# ---------------------------------------------------------------------------------------------- the year's data


@dataclass(frozen=True)
class YearData:
    """What the generator draws from for one performance year."""

    year: int
    entity_types: tuple[str, ...]
    programs: tuple[str, ...]
    category_names: dict[str, str]  # rulebook category -> the measurement set `category` a submission uses
    quality: dict[str, dict]
    benchmarks: dict[str, dict]
    ia: dict[str, dict]
    pi: dict[str, dict]
    cost: dict[str, dict]
    suppressed: tuple[tuple[str, str], ...]
    completeness: int
    case_minimum: int
    cost_minimums: dict[str, Any]
    complex_inputs: tuple[str, ...]
    pi_rules: dict[str, Any]
    pi_clinician_types: tuple[str, ...]


def _rule_value(year: int, stem: str, key: str, default: Any = None) -> Any:
    node = _rule_file(year, stem).get(key)
    return node.get("value", default) if isinstance(node, dict) else default


@functools.cache
def _rule_file(year: int, stem: str) -> dict:
    path = ROOT / "rules" / str(year) / f"{stem}.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def _complex_inputs(year: int) -> tuple[str, ...]:
    """The profile's complexPatient fields that the year's bonus formula names."""
    schema = json.loads((ROOT / "schemas" / "profile.schema.json").read_text(encoding="utf-8"))
    known = schema["properties"]["complexPatient"]["properties"]
    formula = (_rule_file(year, "bonuses").get("complex_patient") or {}).get("formula", "")
    return tuple(name for name in known if re.search(rf"\b{name}\b", formula))


@functools.cache
def year_data(year: int) -> YearData:
    """Load (once) everything the generator draws from for ``year``."""
    reference = json.loads((ROOT / "rules" / str(year) / "reference" / "cms-measures.json").read_text(encoding="utf-8"))
    pi_rules = {key: node["value"] for key, node in _rule_file(year, "pi").items()
                if isinstance(node, dict) and "value" in node}
    return YearData(
        year=year,
        entity_types=tuple(_rule_value(year, "program", "entity_types")),
        programs=tuple(_rule_value(year, "program", "programs")),
        category_names={rule: name for name, rule in _rule_value(year, "program", "submission_categories").items()},
        quality=reference["quality"], benchmarks=reference["benchmarks"], ia=reference["ia"],
        pi=reference.get("pi") or reference.get("aci") or {}, cost=reference.get("cost", {}),
        suppressed=tuple((row["measure"], row["method"]) for row in _rule_value(year, "suppressed", "measures", [])),
        completeness=int(_rule_value(year, "quality", "data_completeness_percent")),
        case_minimum=int(_rule_value(year, "quality", "case_minimum")),
        cost_minimums=_rule_value(year, "cost", "case_minimums") or {"default": 20, "by_measure": {}},
        complex_inputs=_complex_inputs(year),
        pi_rules=pi_rules,
        pi_clinician_types=tuple(_rule_value(year, "weights", "pi_reweighting_clinician_types", [])),
    )


def _bounds(data: YearData, measure: str, method: str) -> tuple[Decimal, ...]:
    record = data.benchmarks.get(f"{measure}|{method}")
    return tuple(Decimal(str(d)) for d in record["deciles"]) if record else ()


def boundary_rates(year: int) -> list[tuple[str, str, Decimal]]:
    """Every (quality measure, collection type, decile bound) of the year's benchmarks, the bound exact.

    A rate equal to one of these sits exactly on a decile's lower bound (e.g. 66.65 reached with 6665 of 10000).
    Proportion bounds are percents; a non-proportion measure's bounds are ratios.
    """
    data = year_data(year)
    triples = []
    for key in sorted(data.benchmarks):
        measure, method = key.split("|")
        meta = data.quality.get(measure)
        if meta and meta["metricType"] in SCORABLE_METRICS and method in meta["submissionMethods"]:
            triples += [(measure, method, bound) for bound in dict.fromkeys(_bounds(data, measure, method))]
    return triples


# -------------------------------------------------------------------------------------------------- helpers


class Draw(random.Random):
    """One document's random source, and whether it is a strong performer's (its rates lean to the top deciles,
    its PI rates high, its data complete), so that every payment band is reached in every year."""

    def __init__(self, seed: str | int, strong_share: float = 0.3):
        super().__init__(seed)
        self.strong = self.random() < strong_share


def _pick(rng: Draw, odds: dict[Any, float]) -> Any:
    return rng.choices(list(odds), weights=list(odds.values()))[0]


def _number(value: Decimal) -> int | float:
    """A JSON number: an int when whole, else a float whose shortest form is the decimal itself."""
    return int(value) if value == value.to_integral_value() else float(value)


def _size(rng: Draw, scenario: str = "typical") -> int:
    """A count of cases: log-uniform from 10 to ~30,000, or large (to 600,000), or tiny (0-5)."""
    if scenario == "large":
        return rng.randint(100_000, 600_000)
    if scenario == "tiny":
        return rng.randint(0, 5)
    return int(10 ** rng.uniform(1, 4.5))


def _record(measure: str, value: Any) -> Record:
    return {"measureId": measure, "value": value}


def _period(year: int, rng: Draw, full: bool) -> tuple[str, str]:
    if full:
        return f"{year}-01-01", f"{year}-12-31"
    start = date(year, 1, 1) + timedelta(days=rng.randint(0, 275))
    return start.isoformat(), (start + timedelta(days=89)).isoformat()


# ------------------------------------------------------------------------------------------- quality counts


@dataclass(frozen=True)
class Target:
    """What one measurement's figures aim at."""

    scenario: str
    bound: Decimal | None  # the exact decile bound of the "bound" scenario
    bounds: tuple[Decimal, ...]  # the benchmark ("typical" rates land inside a random decile of it)
    threshold: int  # data completeness percent
    minimum: int  # case minimum


def _typical_rate(rng: Draw, bounds: tuple[Decimal, ...], top: float = 100.0) -> float:
    """A rate inside a random decile of the benchmark (one of the top three for a strong performer), or anywhere."""
    if len(bounds) > 1 and (rng.strong or rng.random() < 0.7):
        i = rng.randrange(max(0, len(bounds) - 4) if rng.strong else 0, len(bounds) - 1)
        low, high = sorted((float(bounds[i]), float(bounds[i + 1])))
        return min(max(rng.uniform(low, high), 0.0), top)
    return rng.uniform(0.0, top)


def _rate(rng: Draw, target: Target) -> tuple[int, int]:
    """(performance met, met + not met) for the target's rate scenario."""
    if target.scenario == "bound" and target.bound is not None:
        places = max(0, -target.bound.as_tuple().exponent)
        k = rng.randint(1, 3) if places < 4 else 1
        return int(target.bound * 10**places) * k, 10 ** (places + 2) * k
    performed = _size(rng, target.scenario)
    if target.scenario == "empty":
        return 0, 0
    if target.scenario == "zero":
        return 0, performed
    if target.scenario == "full":
        return performed, performed
    return min(performed, round(performed * _typical_rate(rng, target.bounds) / 100)), performed


def _population(rng: Draw, target: Target, reported: int) -> int:
    """The eligible population for ``reported`` cases, by the completeness the target wants."""
    if target.scenario == "completeness_below":
        return reported * 100 // target.threshold + 1
    if target.scenario == "completeness_at":
        return reported * 100 // target.threshold
    roll = rng.random()
    if roll < 0.65 or rng.strong:
        return reported
    if roll < 0.9:
        return reported + rng.randint(0, reported * (100 - target.threshold) // target.threshold)
    return reported * rng.randint(2, 4)


def _fields(rng: Draw, met: int, not_met: int, excluded: int, population: int) -> dict[str, int]:
    exclusion = rng.randint(0, excluded)
    counts = {"performanceMet": met, "performanceNotMet": not_met, "eligiblePopulationExclusion": exclusion,
              "eligiblePopulationException": excluded - exclusion, "eligiblePopulation": population}
    if rng.random() < 0.3:  # optional zero counts left out, as some submitters do
        counts = {k: v for k, v in counts.items() if v or k in ("performanceMet", "eligiblePopulation")}
    return counts


def _counts(rng: Draw, target: Target) -> dict[str, int]:
    """Counts of a proportion measure (or stratum) for the target."""
    if target.scenario in ("cases_below", "cases_at"):
        population = target.minimum - (target.scenario == "cases_below")
        excluded = rng.randint(0, population // 5)
        met = rng.randint(0, population - excluded)
        return _fields(rng, met, population - excluded - met, excluded, population)
    met, performed = _rate(rng, target)
    excluded = 0 if rng.random() < 0.6 else rng.randint(0, max(1, performed // 10))
    if target.scenario == "completeness_at":  # reported x 100 / threshold must be whole
        step = target.threshold // math.gcd(target.threshold, 100)
        excluded += -(performed + excluded) % step
    population = _population(rng, target, performed + excluded)
    return _fields(rng, met, performed - met, excluded, population)


def _ratio_value(rng: Draw, target: Target) -> dict[str, int | float]:
    """A non-proportion measurement: numerator (up to 4 decimals) over a denominator of observations."""
    if target.scenario in ("cases_below", "cases_at"):
        denominator = Decimal(target.minimum - (target.scenario == "cases_below"))
    elif target.scenario == "empty":
        denominator = Decimal(0)
    else:
        denominator = Decimal(_size(rng, target.scenario))
        if target.scenario != "bound" and rng.random() < 0.1:
            denominator += Decimal(rng.randint(1, 99)) / 100
    top = float(max(target.bounds)) if target.bounds else 100.0
    if target.scenario == "bound" and target.bound is not None:
        ratio = target.bound
    elif target.scenario == "zero":
        ratio = Decimal(0)
    else:
        ratio = Decimal(str(round(top if target.scenario == "full" else _typical_rate(rng, target.bounds, top), 4)))
    numerator = (ratio * denominator).quantize(Decimal("0.0001"))
    observed = denominator
    if target.scenario in ("completeness_at", "completeness_below"):
        observed = denominator * target.threshold / 100 - (Decimal("0.0001") if target.scenario == "completeness_below" else 0)
    return {"numerator": _number(numerator), "denominator": _number(denominator),
            "observationInstances": _number(max(observed, Decimal(0))), "denominatorException": 0,
            "numeratorExclusion": 0}


def _strata_value(rng: Draw, meta: dict, target: Target) -> list[dict]:
    """One record per stratum; on a "bound" target every stratum has the bound's rate, so any algorithm does."""
    names = [s for s in meta.get("strata") or [] if s]
    if meta.get("overallAlgorithm") != "overallStratumOnly" and len(names) > 1 and rng.random() < 0.15:
        names = rng.sample(names, len(names) - 1)  # a stratum left out
    return [{"stratum": name, **_counts(rng, target)} for name in names]


def _end_to_end(rng: Draw, method: str) -> bool:
    return rng.random() < {"electronicHealthRecord": 0.6, "registry": 0.1, "claims": 0.03}.get(method, 0.0)


def _quality_value(data: YearData, rng: Draw, measure: str, method: str) -> Any:
    """A measurement's value for its metric type, aimed at a random scenario; now and then malformed."""
    meta = data.quality[measure]
    bounds = _bounds(data, measure, method)
    if meta["metricType"] != "nonProportion":
        bounds = tuple(b for b in bounds if b <= 100)
    scenario = "typical" if rng.strong and rng.random() < 0.7 else _pick(rng, SCENARIOS)
    bound = rng.choice(bounds) if bounds and scenario == "bound" else None
    if scenario == "bound" and bound is None:  # no benchmark for this collection type
        scenario = "typical"
    target = Target(scenario, bound, bounds, data.completeness, data.case_minimum)
    value: dict[str, Any] = {"isEndToEndReported": _end_to_end(rng, method)}
    if meta["metricType"] == "nonProportion":
        value.update(_ratio_value(rng, target))
    elif meta["metricType"] in MULTI_RATE_METRICS:
        value["strata"] = _strata_value(rng, meta, target)
    else:
        value.update(_counts(rng, target))
    return _malformed(rng, value) if rng.random() < MALFORMED else value


def _malformed(rng: Draw, value: dict) -> Any:
    """Damage a measurement's value the way a bad submitter would."""
    body = copy.deepcopy(value)
    inner = body["strata"][0] if body.get("strata") else body
    count = "numerator" if "numerator" in inner else "performanceMet"
    population = "denominator" if "numerator" in inner else "eligiblePopulation"
    damage = _pick(rng, {"negative": 3, "string": 2, "overflow": 3, "fraction": 1, "missing": 1, "shape": 1,
                         "flag": 1, "stratum": 1, "huge": 1})
    if damage == "negative":
        inner[count] = -rng.randint(1, 50)
    elif damage == "string":
        inner[count] = str(inner.get(count, 0))
    elif damage == "overflow" and population == "eligiblePopulation":
        inner["performanceNotMet"] = inner[population] + 1  # met + not met > eligible population
    elif damage == "fraction":
        inner[count] = inner.get(count, 0) + (0.5 if count == "performanceMet" else 0.12345)
    elif damage == "missing":
        inner.pop(population, None)
    elif damage == "shape":
        return rng.choice([True, "85%", [1, 2], None, 42])
    elif damage == "flag":
        body["isEndToEndReported"] = "yes"
    elif damage == "stratum" and body.get("strata"):
        inner["stratum"] = "notAStratum"
    else:  # "huge", or an overflow a ratio measure cannot have
        inner[population] = 10**9 + 1
    return body


# ------------------------------------------------------------------------------------------- quality sets


def _measure_pool(data: YearData, method: str, program: str, benchmarked: bool) -> tuple[str, ...]:
    """Scorable measures ``method`` can submit under ``program``, with (or without) a benchmark for it."""
    return _cached_pool(data.year, method, program, benchmarked)


@functools.cache
def _cached_pool(year: int, method: str, program: str, benchmarked: bool) -> tuple[str, ...]:
    data = year_data(year)
    pool = []
    for measure, meta in data.quality.items():
        allowed = meta.get("allowedPrograms")
        if (method in meta["submissionMethods"] and (not allowed or program in allowed)
                and (meta["metricType"] in SCORABLE_METRICS or method == "certifiedSurveyVendor")
                and (f"{measure}|{method}" in data.benchmarks) == benchmarked):
            pool.append(measure)
    return tuple(sorted(pool))


def _quality_measures(data: YearData, rng: Draw, method: str, program: str) -> list[str]:
    """Mostly measures with a benchmark for ``method``, some without, now and then a suppressed one."""
    with_benchmark = _measure_pool(data, method, program, True)
    without = _measure_pool(data, method, program, False)
    chosen: list[str] = []
    count = _pick(rng, {1: 8, 2: 10, 3: 14, 4: 14, 5: 14, 6: 16, 7: 10, 8: 7, 10: 4, 12: 3})
    for _ in range(max(count, 7) if rng.strong else count):
        pool = with_benchmark if with_benchmark and (rng.strong or rng.random() < 0.85 or not without) else without
        if pool:
            chosen.append(rng.choice(pool))
    suppressed = sorted(m for m, how in data.suppressed if how == method and m in data.quality)
    if suppressed and rng.random() < 0.15:
        chosen.append(rng.choice(suppressed))
    return list(dict.fromkeys(chosen))


def _stray_measure(data: YearData, rng: Draw, method: str) -> str:
    """A measure the year does not have, or one this collection type cannot submit."""
    wrong = sorted(m for m, meta in data.quality.items() if method not in meta["submissionMethods"])
    return rng.choice(["999", "XYZ1"] + wrong[:20])


def _quality_set(data: YearData, rng: Draw, method: str, program: str, measures: list[str]) -> dict:
    records = [_record(m, _quality_value(data, rng, m, method)) for m in measures]
    if records and rng.random() < 0.04:  # the same measure twice in one set
        twice = rng.choice(measures)
        records.append(_record(twice, _quality_value(data, rng, twice, method)))
    if rng.random() < 0.02:
        records.append(_record(_stray_measure(data, rng, method), {"performanceMet": 5, "eligiblePopulation": 10}))
    return _set(data, rng, "quality", method, program, records, full=True)


def _quality_sets(data: YearData, rng: Draw, entity: str, program: str) -> list[dict]:
    """One collection type mostly; two sometimes, then and again with the same measure through both."""
    odds = {m: w for m, w in QUALITY_METHODS[entity].items() if _measure_pool(data, m, program, True)
            or _measure_pool(data, m, program, False)}
    if not odds:
        return []
    methods = [_pick(rng, odds)]
    if rng.random() < 0.2:
        methods.append(_pick(rng, odds))
    chosen = {method: _quality_measures(data, rng, method, program) for method in dict.fromkeys(methods)}
    if len(chosen) == 2 and rng.random() < 0.5:
        first, second = chosen
        shared = sorted(m for m in _measure_pool(data, first, program, True) if second in data.quality[m]["submissionMethods"])
        if shared:
            measure = rng.choice(shared)
            chosen = {method: list(dict.fromkeys([measure, *ms])) for method, ms in chosen.items()}
    sets = [_quality_set(data, rng, method, program, measures) for method, measures in chosen.items()]
    if len(methods) == 2 and len(chosen) == 1:  # two files through the same collection type
        sets.append(_quality_set(data, rng, methods[0], program, _quality_measures(data, rng, methods[0], program)))
    return sets


# --------------------------------------------------------------------------------- improvement activities


def _ia_set(data: YearData, rng: Draw, program: str) -> dict:
    """A few activities attested true, some false, now and then an unknown id, a duplicate or the PCMH."""
    activities = sorted(a for a, meta in data.ia.items() if meta.get("weight"))
    count = _pick(rng, {1: 25, 2: 35, 3: 20, 4: 12, 6: 8})
    records = [_record(a, rng.random() < 0.9) for a in rng.sample(activities, count + 2 * rng.strong)]
    if "IA_PCMH" in data.ia and rng.random() < 0.04:
        records.append(_record("IA_PCMH", True))
    if rng.random() < 0.05:
        records.append(_record(f"IA_UNKNOWN_{rng.randint(1, 9)}", True))
    if rng.random() < 0.03:
        records.append(copy.deepcopy(rng.choice(records)))
    if rng.random() < 0.02:
        records[0]["value"] = rng.choice(["yes", 1, None])
    method = _pick(rng, {"registry": 60, "electronicHealthRecord": 30, "claims": 10})
    return _set(data, rng, "ia", method, program, records, full=rng.random() < 0.6)


# ----------------------------------------------------------------------------- promoting interoperability


def _proportion(rng: Draw, points: int = 10) -> Any:
    """A PI numerator and denominator: ordinary, 0 of 0, 0 of n, all, or a rate that rounds at exactly .5."""
    odds = {"ordinary": 80, "empty": 1.5, "zero": 2.5, "all": 8, "half": 5, "malformed": 100 * MALFORMED}
    kind = _pick(rng, {k: w for k, w in odds.items() if not rng.strong or k in ("ordinary", "all", "malformed")})
    denominator = max(1, _size(rng))
    if kind == "empty":
        return {"numerator": 0, "denominator": 0}
    if kind == "zero":
        return {"numerator": 0, "denominator": denominator}
    if kind == "all":
        return {"numerator": denominator, "denominator": denominator}
    if kind == "half" and points:
        m = rng.randint(1, 50)
        return {"numerator": (2 * rng.randrange(points) + 1) * m, "denominator": 2 * points * m}
    if kind == "malformed":
        return rng.choice([{"numerator": denominator + 1, "denominator": denominator},
                           {"numerator": -1, "denominator": denominator}, {"numerator": "10", "denominator": 20},
                           {"numerator": 2.5, "denominator": 10}, True, {"numerator": 3}])
    return {"numerator": rng.randint(denominator * 4 // 5 if rng.strong else 1, denominator), "denominator": denominator}


def _pi_value(data: YearData, rng: Draw, measure: str, points: int = 10) -> Any:
    if data.pi.get(measure, {}).get("metricType") == "boolean":
        return rng.random() < 0.9
    return _proportion(rng, points)


def _attestations(rng: Draw, required: list[str], answers: list[str]) -> list[Record]:
    """Required attestations yes mostly; sometimes one answered no or left out. Required answers yes or no."""
    values: dict[str, Any] = dict.fromkeys(required, True)
    if required and not rng.strong and rng.random() < 0.08:
        victim = rng.choice(required)
        if rng.random() < 0.5:
            values[victim] = False
        else:
            del values[victim]
    for answer in answers:
        roll = rng.random()
        if roll < 0.95:
            values[answer] = roll < 0.65
    return [_record(m, v) for m, v in values.items()]


def _pi_measures(data: YearData, rng: Draw) -> list[Record]:
    """Performance measures, exclusions in place of some, and the HIE bi-directional alternative."""
    measures = data.pi_rules["measures"]
    substitute = next((m for m, spec in measures.items() if spec.get("substitutes")), None)
    replaced = set(measures[substitute]["substitutes"]) if substitute else set()
    mode = _pick(rng, {"pair": 70, "bidirectional": 22, "both": 4, "bidirectional_no": 4}) if substitute else "pair"
    exclusion_of = {spec["excludes"]: name for name, spec in data.pi_rules["exclusions"].items()}
    records = []
    for measure, spec in measures.items():
        if measure == substitute:
            if mode != "pair":
                records.append(_record(measure, mode != "bidirectional_no" and rng.random() < 0.92))
            continue
        if measure in replaced and mode in ("bidirectional", "bidirectional_no"):
            continue
        exclusion = exclusion_of.get(measure)
        if exclusion and rng.random() < 0.08:
            records.append(_record(exclusion, True))
            if rng.random() < 0.8:
                continue
        elif exclusion and rng.random() < 0.04:
            records.append(_record(exclusion, False))
        if rng.strong or not (spec.get("required") and rng.random() < 0.015):
            records.append(_record(measure, _pi_value(data, rng, measure, spec["points"])))
    return records


def _public_health(rng: Draw, health: dict) -> list[Record]:
    """Registries reported yes (a second one of a type as its _MULTI record), exclusions, optional bonus."""
    registries = [m for m in health["measures"] if not m.endswith("_MULTI")]
    count = _pick(rng, {0: 12, 1: 40, 2: 35, 3: 13})
    yes = rng.sample(registries, min(len(registries), max(count, rng.strong)))
    records = [_record(m, True) for m in yes]
    records += [_record(f"{m}_MULTI", True) for m in yes if f"{m}_MULTI" in health["measures"] and rng.random() < 0.25]
    if rng.random() < 0.3:
        records += [_record(m, True) for m in rng.sample(health["exclusion_measures"], rng.randint(1, 2))]
    unanswered = [m for m in registries if m not in yes]
    if unanswered and rng.random() < 0.1:
        records.append(_record(rng.choice(unanswered), False))
    bonus = (health.get("bonus_any") or {}).get("measures", [])
    if bonus and rng.random() < 0.35:
        records.append(_record(rng.choice(bonus), rng.random() < 0.9))
    return records


def _unscored_pi(data: YearData, rules: dict) -> list[str]:
    """Records of the year's PI data that no rule of pi.yaml names (the engine reports them)."""
    health = rules["public_health"]
    named = {*rules["measures"], *rules["bonus_measures"], *rules["exclusions"], *rules["required_attestations"],
             *rules.get("required_answers", []), *health["measures"], *health["exclusion_measures"],
             *(health.get("bonus_any") or {}).get("measures", [])}
    return sorted(set(data.pi) - named)


def _pi_records(data: YearData, rng: Draw) -> list[Record]:
    """A Promoting Interoperability set's records under the year's pi.yaml (2020-2022)."""
    rules = data.pi_rules
    records = _attestations(rng, list(rules["required_attestations"]), list(rules.get("required_answers", [])))
    records += _pi_measures(data, rng)
    records += _public_health(rng, rules["public_health"])
    records += [_record(m, rng.random() < 0.8) for m in rules["bonus_measures"] if rng.random() < 0.4]
    stray = _unscored_pi(data, rules)
    if stray and rng.random() < 0.05:
        records.append(_record(rng.choice(stray), True))
    if rng.random() < 0.02:
        records.append(_record("PI_UNKNOWN_1", True))
    return records


def _aci_records(data: YearData, rng: Draw) -> list[Record]:
    """A 2017 Advancing Care Information set: the ACI or the transition measure set (rarely both)."""
    rules = data.pi_rules
    marker = rules["transition_set_marker"]
    common = set(rules["common_categories"])
    exclusion_of = {target: name for name, target in rules["base_exclusions"].items()}
    chosen = _pick(rng, {"standard": 70, marker: 25, "both": 5})
    records = _attestations(rng, list(rules["required_attestations"]), [])
    for measure, meta in sorted(data.pi.items()):
        in_set = "both" == chosen or (marker in (meta.get("measureSets") or [])) == (chosen == marker)
        category = meta.get("reportingCategory")
        if not in_set or category in common or measure in rules["base_exclusions"]:
            continue
        if category == "base" and meta.get("isRequired"):
            if measure in exclusion_of and rng.random() < 0.08:
                records.append(_record(exclusion_of[measure], True))
            elif rng.random() > 0.03:
                records.append(_record(measure, _pi_value(data, rng, measure)))
        elif rng.random() < (0.6 if category == "performanceBonus" else 0.25):
            records.append(_record(measure, _pi_value(data, rng, measure)))
    cehrt = rules["cehrt_bonus"]["measure"]
    if rng.random() < 0.3:
        records.append(_record(cehrt, rng.random() < 0.9))
    return records


def _pi_set(data: YearData, rng: Draw, program: str) -> dict:
    records = _aci_records(data, rng) if data.year == 2017 else _pi_records(data, rng)
    method = _pick(rng, {"electronicHealthRecord": 80, "registry": 20})
    measurement_set = _set(data, rng, "pi", method, program, records, full=rng.random() < 0.5)
    if rng.strong or rng.random() < 0.92:
        measurement_set["cehrtId"] = f"0015{rng.choice('CEH')}8" + "".join(rng.choices("0123456789ABCDEFGHJK", k=10))
    return measurement_set


# ------------------------------------------------------------------------------------------------ profile


def _flags(rng: Draw) -> dict[str, bool]:
    flags = {}
    for flag, odds in FLAG_ODDS.items():
        roll = rng.random()
        if roll < odds + 0.04:
            flags[flag] = roll < odds  # now and then an explicit false
    return flags


def _complex_patient(data: YearData, rng: Draw) -> dict[str, Any]:
    """The complex patient inputs the year's formula reads; sometimes one of them missing."""
    draws: dict[str, Callable[[], Any]] = {
        "averageHccScore": lambda: round(rng.uniform(0.3, 4.5), 4),
        "dualEligibleRatio": lambda: rng.choice([0, 1, round(rng.uniform(0, 1), 4)]) if rng.random() < 0.2
        else round(rng.uniform(0, 0.8), 4),
        "hccZScore": lambda: round(rng.gauss(0, 1.2), 4),
        "dualZScore": lambda: round(rng.gauss(0, 1.2), 4),
        "hccAtOrAboveMedian": lambda: rng.random() < 0.5,
        "dualAtOrAboveMedian": lambda: rng.random() < 0.5,
    }
    values = {name: draws[name]() for name in data.complex_inputs}
    if values and rng.random() < 0.1:
        del values[rng.choice(sorted(values))]
    return values


def _cost_score(rng: Draw, bounds: tuple[Decimal, ...]) -> int | float:
    """A cost near the benchmark: on a bound, inside a decile, above every bound or below the best."""
    if not bounds:
        return round(rng.uniform(500, 60000), 2)
    high, low = float(max(bounds)), float(min(b for b in bounds if b > 0) if any(bounds) else 0)
    kind = _pick(rng, {"bound": 25, "inside": 50, "above": 12, "below": 13})
    if kind == "bound":
        return _number(rng.choice(bounds))
    if kind == "above":
        return round(high * rng.uniform(1.0001, 1.5), 2)
    if kind == "below":
        return round(low * rng.uniform(0.5, 0.9999), 2)
    return round(rng.uniform(low, high), 2)


def _cost_measures(data: YearData, rng: Draw) -> list[dict]:
    """Cost measures as CMS reports them, attributed cases around each measure's case minimum."""
    minimums = data.cost_minimums
    chosen = rng.sample(sorted(data.cost), rng.randint(1, min(6, len(data.cost))))
    measures = []
    for measure in chosen:
        minimum = int(minimums.get("by_measure", {}).get(measure, minimums["default"]))
        cases = _pick(rng, {minimum - 1: 20, minimum: 20, minimum + 1: 10, rng.randint(0, minimum): 10,
                            rng.randint(minimum, 40 * minimum): 40})
        bounds = _bounds(data, measure, "administrativeClaims")
        measures.append({"measureId": measure, "attributedCases": max(cases, 0), "score": _cost_score(rng, bounds)})
    if rng.random() < 0.03:
        measures.append({"measureId": "COST_UNKNOWN_1", "attributedCases": 50, "score": 1000})
    return measures


def _clinician_type(data: YearData, rng: Draw) -> str:
    if rng.random() < 0.6:
        return "physician"
    return rng.choice(sorted(set(data.pi_clinician_types) | set(OTHER_CLINICIAN_TYPES)))


def _clinician_count(rng: Draw, entity: str, small: bool) -> int:
    if entity == "individual":
        return 1
    if small or entity == "virtualGroup":
        return rng.randint(2, 15 if small else 10)
    return rng.randint(16, 600 if entity == "group" else 5000)


def _profile(data: YearData, rng: Draw, entity: str) -> dict[str, Any]:
    """Facts the submission does not carry, drawn at random (every key optional)."""
    profile: dict[str, Any] = dict(_flags(rng))
    if rng.random() < (0.7 if entity == "individual" else 0.2):
        profile["clinicianType"] = _clinician_type(data, rng)
    if rng.random() < 0.6:
        profile["clinicianCount"] = _clinician_count(rng, entity, profile.get("smallGroupPractitioner", False))
    if rng.random() < 0.12:
        categories = ["quality", "ia", "pi", "cost"]
        profile["eucApproved"] = sorted(rng.sample(categories, rng.randint(1, 4)), key=categories.index)
    if rng.random() < 0.08:
        profile["facilityBased"] = {"qualityScore": rng.choice([0, 100, round(rng.uniform(0, 100), 2)])}
    if rng.random() < 0.15:
        prior: dict[str, Any] = {"achievementPercent": rng.choice([0, 30, 100, round(rng.uniform(0, 100), 2)])}
        if rng.random() < 0.85:
            prior["fullParticipation"] = rng.random() < 0.7
        profile["priorYearQuality"] = prior
    if data.complex_inputs and rng.random() < 0.35:
        profile["complexPatient"] = _complex_patient(data, rng)
    if data.cost and data.year in COST_PROFILE_YEARS and rng.random() < 0.6:
        profile["costMeasures"] = _cost_measures(data, rng)
    return profile


# --------------------------------------------------------------------------------------------- documents


def _set(data: YearData, rng: Draw, category: str, method: str, program: str, records: list[Record],
         full: bool) -> dict:
    start, end = _period(data.year, rng, full or (data.year != 2017 and rng.random() < 0.5))
    measurement_set = {"category": data.category_names[category], "submissionMethod": method,
                       "programName": program, "performanceStart": start, "performanceEnd": end,
                       "measurements": records}
    if program == "mips" and rng.random() < 0.05:
        del measurement_set["programName"]  # the engine reads mips
    return measurement_set


def _header(data: YearData, rng: Draw, entity: str, program: str) -> dict[str, Any]:
    header: dict[str, Any] = {"entityType": entity}
    if entity != "apm" or rng.random() < 0.3:
        header["taxpayerIdentificationNumber"] = f"{rng.randrange(10**9):09d}"
    if entity == "individual":
        header["nationalProviderIdentifier"] = f"{rng.randrange(10**9, 10**10)}"
    if entity == "apm":
        header["entityId"] = f"A{rng.randint(1000, 9999)}"
    if entity == "virtualGroup":
        header["entityId"] = f"VG-{data.year}-{rng.randint(1, 999):03d}"
    header["performanceYear"] = data.year
    if program != "mips" and rng.random() < 0.5:
        header["programName"] = program
    return header


def _entity_and_program(data: YearData, rng: Draw) -> tuple[str, str]:
    entity = _pick(rng, {e: w for e, w in ENTITY_ODDS.items() if e in data.entity_types})
    app = "app1" in data.programs and entity != "virtualGroup" and rng.random() < 0.12
    return entity, "app1" if app else "mips"


def _keep_scorable(data: YearData, document: dict, profile: dict) -> None:
    """Avoid the one combination the rulebooks refuse as a whole (refused_submissions has it).

    2017: the APM scoring standard has no row for an APM Entity scored on quality and IA without ACI
    (rules/2017/weights.yaml apm_scoring_standard), so an APM Entity with quality gets no ACI reweighting reason.
    """
    quality = any(s["category"] == data.category_names["quality"] for s in document["measurementSets"])
    if data.year == 2017 and document["entityType"] == "apm" and quality:
        for flag in PI_REWEIGHT_FLAGS:
            profile.pop(flag, None)
        if profile.get("clinicianType") in data.pi_clinician_types:
            profile["clinicianType"] = "physician"


def _document(data: YearData, rng: Draw) -> Pair:
    entity, program = _entity_and_program(data, rng)
    sets = []
    if rng.random() < (0.95 if rng.strong else 0.75):
        sets += _quality_sets(data, rng, entity, program)
    if rng.random() < (0.95 if rng.strong else 0.7):
        sets.append(_ia_set(data, rng, program))
    if rng.random() < (0.25 if entity == "apm" and data.year != 2022 else 0.9 if rng.strong else 0.65):
        sets.append(_pi_set(data, rng, program))
    if rng.random() < 0.05 and sets:
        sets.append(copy.deepcopy(rng.choice(sets)))  # the same data sent twice (e.g. by two vendors)
    rng.shuffle(sets)
    document = {**_header(data, rng, entity, program), "measurementSets": sets}
    profile = _profile(data, rng, entity)
    _keep_scorable(data, document, profile)
    return document, profile


def submissions(year: int, count: int, seed: int) -> list[Pair]:
    """``count`` (submission, profile) pairs for ``year``: bare QPP submission JSON and a profile dict.

    Deterministic: pair i depends on (year, seed, i) only, so a longer list extends a shorter one.
    """
    data = year_data(year)
    return [_document(data, Draw(f"{year}:{seed}:{index}")) for index in range(count)]


# ------------------------------------------------------------------------------------------ refused inputs


def refused_submissions(year: int) -> list[tuple[dict, dict, str]]:
    """(document, profile, why) triples that scoring under ``year`` must refuse as a whole."""
    data = year_data(year)
    rng = Draw(f"{year}:refused")
    base = {**_header(data, rng, "individual", "mips"), "measurementSets": [_ia_set(data, rng, "mips")]}

    def variant(change: Callable[[dict], Any]) -> dict:
        document = copy.deepcopy(base)
        change(document)
        return document

    def first_set(**fields: Any) -> Callable[[dict], Any]:
        return lambda d: d["measurementSets"][0].update(fields)

    second = "app1" if "app1" in data.programs else "cpcPlus"
    cases = [
        (variant(lambda d: d.update(performanceYear=year + 1)), {}, "performance year differs from the rulebook's"),
        (variant(first_set(programName="cpcPlus")), {}, "program cpcPlus is not scored"),
        (variant(lambda d: d["measurementSets"].append({**d["measurementSets"][0], "programName": second})), {},
         "measurement sets name different programs"),
        (variant(lambda d: d.update(taxpayerIdentificationNumber="12345")), {}, "header: TIN is not nine digits"),
        (variant(lambda d: d.pop("entityType")), {}, "header: no entityType"),
        ({"data": {"measurementSet": copy.deepcopy(base["measurementSets"][0])}}, {},
         "a measurement-set response carries no entity header"),
        (copy.deepcopy(base), {"smallGroupPractitioner": "yes"}, "profile: a flag that is not true or false"),
    ]
    if "app1" not in data.programs:
        cases.append((variant(first_set(programName="app1")), {}, "app1 is not scored this year"))
    if "virtualGroup" not in data.entity_types:
        cases.append((variant(lambda d: d.update(entityType="virtualGroup")), {}, "virtual groups are not scored this year"))
    if year == 2017:
        counts = {"isEndToEndReported": False, "performanceMet": 60, "performanceNotMet": 40, "eligiblePopulation": 100}
        quality = {**base["measurementSets"][0], "category": "quality", "submissionMethod": "registry",
                   "measurements": [_record("236", counts), _record("047", counts)]}
        apm = variant(lambda d: d.update(entityType="apm", entityId="A1234", measurementSets=[quality]))
        cases.append((apm, {"piHardship": True}, "the APM scoring standard has no row for quality + IA without ACI"))
    return cases
