"""Hostile clinician profiles: the example profile, a full one and QPP Eligibility API responses mutated in type and
shape, and YAML that is hostile in itself (Python tags, alias bombs, deep nesting, huge or binary files), read from
files and given as dicts, then used to score a submission.

A payload is ``{"via": ..., "doc": ..., "text": ...}``: ``doc`` a profile document, or ``text`` the file's content
(str or bytes) for the hostile YAML that no document describes."""

from __future__ import annotations

import copy
import json
import random
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import engine
from engine.inputs.profile import load_profile
from fuzz.harness import Case, fed
from fuzz.targets.submissions import GROWN_BYTES, JUNK, LONGEST_MESSAGE, _at, _paths, _set, _special

KIND = "profiles"
ROOT = Path(__file__).resolve().parents[2]
SUBMISSION = ROOT / "examples" / "2020-individual-quality-ia-pi.json"
EXAMPLE = ROOT / "examples" / "2020-small-practice.yaml"
FULL: dict[str, Any] = {
    "smallGroupPractitioner": True, "ruralClinician": False, "hpsaClinician": True, "nonPatientFacing": False,
    "hospitalBasedClinician": False, "ambulatorySurgicalCenter": False, "clinicianType": "physician",
    "clinicianCount": 12, "facilityBased": {"qualityScore": 72.5},
    "complexPatient": {"averageHccScore": 1.8, "dualEligibleRatio": 0.3, "hccZScore": 0.4, "dualZScore": -0.2,
                       "hccAtOrAboveMedian": True, "dualAtOrAboveMedian": False},
    "eucApproved": ["cost"], "piHardship": False, "pcmh": False, "apmParticipant": False,
    "noQualityMeasuresApplicable": False, "priorYearQuality": {"achievementPercent": 61.25, "fullParticipation": True},
    "eucDisasterArea": False,
    "costMeasures": [{"measureId": "MSPB_1", "attributedCases": 40, "score": 21000.5},
                     {"measureId": "TPCC_1", "attributedCases": 25, "score": 9000}],
}
SCENARIO: dict[str, Any] = {"smallGroupPractitioner": True, "ruralClinician": False, "hpsaClinician": False,
                            "nonPatientFacing": False, "hospitalBasedClinician": False, "aciHardship": True,
                            "isFacilityBased": False, "extremeHardship": False}
RESPONSE: dict[str, Any] = {"data": {"organizations": [{"TIN": "000456789", "individualScenario": SCENARIO},
                                                       {"groupScenario": SCENARIO}]}}
HOSTILE_YAML = [
    "!!python/object/apply:os.system ['echo pwned']\n",
    "smallGroupPractitioner: !!python/object/apply:os.getcwd []\n",
    "smallGroupPractitioner: !!python/name:os.system\n",
    "a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)),
    "base: &b {smallGroupPractitioner: true}\nfacilityBased:\n  <<: *b\n",
    "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    "smallGroupPractitioner: 2020-01-01\n",
    "eucApproved: !!set {cost: null}\n",
    "clinicianType: !!binary aGVsbG8=\n",
    "? [a, b]\n: true\n",
    "---\nsmallGroupPractitioner: true\n---\nruralClinician: true\n",
    "{\"smallGroupPractitioner\": true, \"smallGroupPractitioner\": 5}\n",
    "clinicianCount: 1" + "0" * 5000 + "\n",
    "clinicianCount: 190:20:30\n",
    "facilityBased: {qualityScore: .nan}\n",
    "facilityBased: {qualityScore: -.inf}\n",
    "complexPatient: {averageHccScore: 1.0e400}\n",
    "smallGroupPractitioner: yes\nruralClinician: off\n",
    "\tsmallGroupPractitioner: true\n",
    "smallGroupPractitioner: true\n" * 3,
    "%YAML 1.1\n%TAG ! tag:yaml.org,2002:python/\n---\n!object/apply:os.system ['true']\n",
    "",
    "~\n",
    "0\n",
    "- 1\n- 2\n",
    "data: {organizations: 5}\n",
    "data: {organizations: [5]}\n",
    "data: {organizations: [{individualScenario: [1]}]}\n",
]


@cache
def _example() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return loaded


def _mutate(doc: Any, rng: random.Random, dict_keys: bool) -> tuple[Any, str]:
    path = rng.choice(_paths(doc))
    target = _at(doc, path)
    choice = rng.randrange(6)
    if choice == 0 and isinstance(target, dict) and target:
        del target[rng.choice(list(target))]
        return doc, "delete"
    if choice == 1 and isinstance(target, dict):
        key: Any = rng.choice([1, None, True]) if dict_keys and rng.random() < 0.5 else rng.choice(["zzz", "", "data"])
        target[key] = copy.deepcopy(rng.choice(JUNK))
        return doc, "unknown key"
    if choice == 2 and isinstance(target, list):
        item = rng.choice(JUNK)
        count = min(rng.choice([2, 1_000, 100_000]), GROWN_BYTES // (len(json.dumps(item)) + 1))
        target.extend(copy.deepcopy(item) for _ in range(count))
        return doc, "long list"
    return _set(doc, path, copy.deepcopy(rng.choice(JUNK))), "swap"


def _hostile_text(rng: random.Random) -> tuple[str | bytes, str]:
    choice = rng.randrange(8)
    if choice == 0:
        depth = rng.choice([50, 1_000, 100_000])
        return "a: " + "[" * depth + "]" * depth + "\n", "deep flow"
    if choice == 1:
        depth = rng.choice([50, 500, 3_000])
        return "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "b: 1\n", "deep block"
    if choice == 2:
        return b"smallGroupPractitioner: true\nclinicianType: phys\xe9ician\n", "not UTF-8"
    if choice == 3:
        return "clinicianType: " + "x" * rng.choice([10_000, 5_000_000]) + "\n", "huge"
    if choice == 4:
        return random.Random(rng.random()).randbytes(300), "noise"
    return rng.choice(HOSTILE_YAML), "hostile YAML"


def case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    if index % 50 == 0:
        return Case("special file", {"via": "special", "what": rng.choice(["fifo", "zero", "dir", "missing", "link"])})
    via = rng.choice(["file", "file", "dict", "dict", "batch"])
    if via == "file" and rng.random() < 0.4:
        text, label = _hostile_text(rng)
        return Case(f"file: {label}", {"via": via, "text": text})
    doc = copy.deepcopy(rng.choice([_example(), FULL, FULL, RESPONSE]))
    labels = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        doc, label = _mutate(doc, rng, via != "file")
        labels.append(label)
    if via == "batch" and not isinstance(doc, dict):  # score_many takes profiles as mappings
        via = "dict"
    return Case(f"{via}: {', '.join(labels) or 'as is'}", {"via": via, "doc": doc})


@cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="fuzz-profiles-"))


def _dump(doc: Any) -> str:
    """The document as YAML; as JSON (which YAML reads too) when it is large (YAML is slow to write) or when YAML
    cannot write it (a lone surrogate)."""
    text = json.dumps(doc)
    try:
        return text if len(text) > 100_000 else yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                                                          allow_unicode=True)
    except UnicodeEncodeError:
        return text


def _file(payload: dict) -> Path:
    path = _folder() / "profile.yaml"
    content = payload["text"] if "text" in payload else _dump(payload["doc"])
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _feed(payload: dict) -> None:
    via = payload["via"]
    if via == "special":
        load_profile(_special(payload["what"]))
        return
    if via == "file":
        path = _file(payload)
        try:
            assert isinstance(load_profile(path), dict)
            assert engine.explain(engine.score(SUBMISSION, 2020, profile=path))
        finally:
            path.unlink()  # a worker ends without clean-up; no large file is left behind
    elif via == "dict":
        assert engine.explain(engine.score(SUBMISSION, 2020, profile=payload["doc"]))
    else:
        batch = engine.score_many([SUBMISSION, SUBMISSION], 2020, profiles=[payload["doc"], FULL])
        assert len(batch.sources) + len(batch.refused) == 2 and all(p in (0, 1) for p, _ in batch.refused), batch
        assert all(len(message) <= LONGEST_MESSAGE for _, message in batch.refused)


def run(case: Case) -> None:
    fed(_feed, case.payload, LONGEST_MESSAGE)
