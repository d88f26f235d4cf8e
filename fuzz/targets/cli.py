"""Command lines: every ``mips`` command with hostile arguments, files, years, profiles, what-ifs and formats.

A case is an argv list and the files to lay out for it in a fresh temporary folder (the working directory while
it runs); an argument starting with ``@/`` names a path in that folder, one starting with ``%/`` a file of this
repository. ``main()`` runs in-process with its
output going to ASCII-only streams, as on a terminal without UTF-8. Exit 0 is a result (its JSON must be valid
and finite, its text free of control characters, its Markdown free of raw HTML); exit 1 or 2 with a ``mips: ``
message free of control characters is a refusal; the internal-error exit, or anything else, is a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

from engine.base.errors import MipsError
from engine.interfaces.cli import EXIT_INTERNAL, main
from fuzz.harness import Case

KIND = "cli"

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(f"%/{p.relative_to(ROOT)}" for p in (*(ROOT / "tests" / "samples").glob("*.json"),
                                                       *(ROOT / "examples").glob("*.json")))
PROFILE = "%/examples/2020-small-practice.yaml"
YEARS = ["2017", "2020", "2021", "2022"]
HOSTILE = [
    "<script>alert(1)</script>", "236\n## Final score: 100 of 100\n", "\x1b[2J\x1b[31mred", "\u202eevil", "| x | y |",
    "[x](javascript:alert(1))", "![i](http://x/i.png)", "*bold* _em_ `code`", "&lt;b&gt;", "\ud800", "é€😀",
    "\r\n- forged item", "a" * 5000, "", " ", "\x00", "{{ 7*7 }}", "{% raw %}", "# heading", "1. item", "\u2028x",
]
BAD_YEARS = ["1999", "abc", "-1", "99999", "2020/../x", "../../etc", "/etc", "", " 2020", "2020\n", "rules/2020",
             "@/", "@/missing", "@/file.txt", "@/rules/2020", "0x7E4", "2020.0", "٢٠٢٠", "2020/", "."]
PROFILES = [PROFILE, "/etc/passwd", "@/", "@/missing.yaml", "@/profile.yaml", SAMPLES[0], "/dev/null"]
PROFILE_TEXTS = [
    "smallGroupPractitioner: .nan\n", "complexPatient: {averageHccScore: .inf, dualEligibleRatio: 1e400}\n",
    "- a\n- b\n", "x: [\n", "a: &a [*a]\n", "{}\n", "smallGroupPractitioner: true\nsmallGroupPractitioner: false\n",
    "a: " + "[" * 2000 + "\n", "complexPatient: {averageHccScore: 1.8, dualEligibleRatio: 0.3}\n", "!!python/name:os.system\n",
    "smallGroupPractitioner: '<script>'\n", "eucApproved: [quality, cost, ia, pi]\n",
]
FACTS = [
    "smallGroupPractitioner=true", "complexPatient.averageHccScore=1.8", "x", "=1", "a..b=1", ".=1",
    "smallGroupPractitioner.x=1", "complexPatient.averageHccScore=.nan", "complexPatient.averageHccScore=.inf",
    "a=[1,2", "a={b: c}", "smallGroupPractitioner=" + "x" * 10000, "smallGroupPractitioner=!!python/object:os.system x",
    "complexPatient=3", "complexPatient.dualEligibleRatio=1e400", "eucApproved=[quality]", "clinicianType=<script>",
    "smallGroupPractitioner=true", "smallGroupPractitioner.y.z=1", "a.b.c.d.e=1", "facilityBased.qualityScore=-1e308",
]
SETS = [
    "quality.small_practice_bonus=5", "payment.performance_threshold=60", "program.precision={decimals: 4, rounding: half_up}",
    "x", "=", "a=b", "quality.small_practice_bonus=.nan", "payment.performance_threshold=1e400",
    "payment.performance_threshold=-.inf", "weights.default_weights={quality: 50, cost: 10, ia: 15, pi: 25}",
    "bonuses.complex_patient=" + "(1+" * 300 + "1" + ")" * 300, "bonuses.complex_patient=min(cap, 1/0)",
    "bonuses.complex_patient=" + "x" * 3000, "bonuses.cap=[1,2]", "payment.performance_threshold='<script>'",
    "quality.case_minimum=99999999999999999999999", "bonuses.complex_patient=__import__('os')", "program.precision=7",
    "payment.performance_threshold=[", "quality.small_practice_bonus=1e-30",
]
AS_OF = ["2022-03-01", "2022-3-1", "yesterday", "9999-12-31", "0001-01-01", "", "2022-02-30", "2021-12-31\n", "2020-01-01"]
SUBMISSION_MUTATIONS = ("hostile_id", "year", "nan", "truncate", "bytes", "empty", "deep", "huge_number", "title")


def _repository_file(argument: str) -> Path:
    return ROOT / argument.removeprefix("%/")


def _pick(rng: random.Random, items: list[str], hostile: float = 0.1) -> str:
    return rng.choice(HOSTILE) if rng.random() < hostile else rng.choice(items)


def _mutate_submission(rng: random.Random, files: dict[str, Any]) -> str:
    """A sample changed one way, written into the case's folder; returns its argv path."""
    source = rng.choice(SAMPLES)
    text = _repository_file(source).read_text(encoding="utf-8")
    how = rng.choice(SUBMISSION_MUTATIONS)
    name = f"sub{len(files)}.json"
    if how == "hostile_id":
        text = re.sub(r'"(measureId|taxpayerIdentificationNumber|nationalProviderIdentifier)": "[^"]*"',
                      lambda m: f'"{m.group(1)}": {json.dumps(rng.choice(HOSTILE))}', text, count=rng.randint(1, 3))
    elif how == "year":
        year = rng.choice(["2031", "\"2020\"", "1e308", "-1", "null", "2020.5", "true", "99999999999999999999"])
        text = re.sub(r'"performanceYear": *[^,}\n]*', f'"performanceYear": {year}', text)
    elif how in ("nan", "huge_number"):
        numbers = list(re.finditer(r"(?<=: )\d+(\.\d+)?", text))
        if numbers:
            m = rng.choice(numbers)
            value = rng.choice(["NaN", "Infinity", "-Infinity"]) if how == "nan" else rng.choice(["1e400", "9" * 400, "-0"])
            text = text[:m.start()] + value + text[m.end():]
    elif how == "truncate":
        text = text[: rng.randrange(len(text))]
    elif how == "deep":
        text = "[" * rng.choice([100, 5000, 100_000]) + "]" * rng.choice([0, 100])
    elif how == "title":
        text = text.replace('"quality"', json.dumps(rng.choice(HOSTILE)), 1)
    files[name] = rng.randbytes(rng.randint(1, 200)) if how == "bytes" else "" if how == "empty" else text
    return f"@/{name}"


def _submission(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(SAMPLES)
    if roll < 0.9:
        return _mutate_submission(rng, files)
    if roll < 0.995:
        return rng.choice(["@/missing.json", "@/", "/dev/null", "/etc/passwd", "", "-", "@/file.txt", "/proc/self/status"])
    fifos.append("fifo")
    return "@/fifo"


def _profile_options(rng: random.Random, files: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    if rng.random() < 0.4:
        profile = rng.choice(PROFILES)
        if profile == "@/profile.yaml":
            files["profile.yaml"] = rng.choice(PROFILE_TEXTS) if rng.random() < 0.9 else rng.randbytes(50)
        argv += ["--profile", profile]
    for _ in range(rng.choice([0, 0, 1, 2])):
        argv += ["--fact", _pick(rng, FACTS)]
    return argv


def _sets(rng: random.Random) -> list[str]:
    return [a for _ in range(rng.choice([0, 0, 0, 1, 2])) for a in ("--set", _pick(rng, SETS))]


def _year(rng: random.Random, hostile: float = 0.3) -> str:
    return rng.choice(BAD_YEARS) if rng.random() < hostile else rng.choice(YEARS)


def _scoring(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    command = rng.choice(["score", "explain"])
    argv = [command, *(_submission(rng, files, fifos) for _ in range(rng.choice([1, 1, 1, 2])))]
    roll = rng.random()
    if roll < 0.15:
        copies: dict[str, str] = {}
        edits: dict[str, list[list[str]]] = {}
        argv += ["--year", _rules_copy(rng, copies, edits)]
        files["$copies"], files["$edits"] = copies, edits
    elif roll < 0.5:
        argv += ["--year", _year(rng)]
    argv += _profile_options(rng, files) + _sets(rng)
    if rng.random() < 0.15:
        argv += ["--as-of", rng.choice(AS_OF)]
    formats = ["text", "json", "md"] if command == "score" else ["text", "md", "html"]
    if rng.random() < 0.8:
        argv += ["--format", rng.choice(formats) if rng.random() < 0.95 else rng.choice(["html", "xml", ""])]
    return command, argv


def _plausible(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    """A command that should mostly score: a sample, or one whose ids, titles or header carry hostile text, under
    its own year or a rulebook copy with a hostile category title, with valid options."""
    command = rng.choice(["score", "explain", "compare"])
    if rng.random() < 0.6:
        text = _repository_file(rng.choice(SAMPLES)).read_text(encoding="utf-8")
        hostile = json.dumps(rng.choice(HOSTILE))
        text = re.sub(r'"(measureId|taxpayerIdentificationNumber|nationalProviderIdentifier|submissionMethod)": "[^"]*"',
                      lambda m: f'"{m.group(1)}": {hostile}' if rng.random() < 0.5 else m.group(0), text)
        files["sub.json"] = text
        argv = [command, "@/sub.json"]
    else:
        argv = [command, rng.choice(SAMPLES)]
    if command == "compare":
        argv += ["--years", *rng.sample(YEARS, rng.randint(1, 4))]
    elif rng.random() < 0.3:
        copies: dict[str, str] = {}
        edits: dict[str, list[list[str]]] = {}
        argv += ["--year", _rules_copy(rng, copies, edits)]
        files["$copies"], files["$edits"] = copies, edits
    if rng.random() < 0.3:
        argv += ["--profile", PROFILE]
    if rng.random() < 0.3:
        argv += ["--fact", rng.choice(FACTS[:2]), "--set", rng.choice(SETS[:2])]
    formats = ["text", "md", "html"] if command == "explain" else ["text", "json", "md"]
    return command, argv + ["--format", rng.choice(formats)]


def _compare(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    years = [_year(rng, 0.2) for _ in range(rng.randint(1, 4))]
    argv = ["compare", _submission(rng, files, fifos), "--years", *years, *_profile_options(rng, files), *_sets(rng)]
    return "compare", argv + ["--format", rng.choice(["text", "json", "md"])]


def _rules_copy(rng: random.Random, copies: dict[str, str], edits: dict[str, list[list[str]]]) -> str:
    """A copy of a shipped rulebook in the case's folder, sometimes with its program.yaml edited: the years written
    another way or broken, or a category title carrying hostile text."""
    year = rng.choice(YEARS)
    copies[f"rules/{year}"] = year
    program = edits.setdefault(f"rules/{year}/program.yaml", [])
    if rng.random() < 0.4:
        old = f"performance_year:\n  value: {year}"
        new = rng.choice(["performance_year:\n  value: 0x7E4", "performance_year:\n  value: '2020'",
                          "performance_year: 2020", "performance_year:\n  value: [2020]", "title: x",
                          f"performance_year:\n  value: {year}  # 0x7E4 {year}x {year}0",
                          f"performance_year:\n  value: {year}\n  note: {json.dumps(rng.choice(HOSTILE))}",
                          "performance_year:\n  value: 1e400", "performance_year:\n  value: !!binary AAAA",
                          f"performance_year:\n  value: &y {year}", f"performance_year:\n  value: {year}_0"])
        program.append([old, new])
    if rng.random() < 0.3:
        title = rng.choice(["    quality: Quality", "    ia: Improvement Activities", "    pi: Promoting Interoperability"])
        program.append([title, f"{title.split(':')[0]}: {json.dumps(rng.choice(HOSTILE))}"])
    return f"@/rules/{year}"


def _diff(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    copies: dict[str, str] = {}
    edits: dict[str, list[list[str]]] = {}
    sides = [_rules_copy(rng, copies, edits) if rng.random() < 0.2 else _year(rng, 0.2) for _ in range(2)]
    files["$copies"], files["$edits"] = copies, edits
    return "diff", ["diff", *sides, "--format", rng.choice(["text", "json", "md"])]


def _validate(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    copies: dict[str, str] = {}
    edits: dict[str, list[list[str]]] = {}
    book = _rules_copy(rng, copies, edits) if rng.random() < 0.2 else _year(rng, 0.3)
    files["$copies"], files["$edits"] = copies, edits
    return "validate", ["validate", book, *_sets(rng)]


def _new_year(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    """Always writes inside the case's folder: a copy as the source, or a shipped year with --into there."""
    copies: dict[str, str] = {}
    edits: dict[str, list[list[str]]] = {}
    year = rng.choice(["2031", "2032", "2040"]) if rng.random() < 0.6 else rng.choice([*BAD_YEARS, "2020", "0", "20310"])
    roll = rng.random()
    if roll < 0.5:
        source = _rules_copy(rng, copies, edits)
        if rng.random() < 0.3:
            base = source[2:]
            files["$links"] = {f"{base}/outside.yaml": "/etc/passwd", f"{base}/extra": "/etc",
                               f"{base}/inner.yaml": "program.yaml"}
        argv = ["new-year", source, year]
        if rng.random() < 0.3:
            argv += ["--into", rng.choice(["@/out", "@/", "@/file.txt", "@/missing/deeper", "@/rules"])]
    else:
        source = rng.choice([*YEARS, "1999", "@/", "@/missing", "@/file.txt", "/etc", "2020/../2021", "../2020"])
        argv = ["new-year", source, year, "--into", rng.choice(["@/out", "@/", "@/file.txt", "@/missing/deeper"])]
    files["out"] = None
    files["$copies"], files["$edits"] = copies, edits
    return "new-year", argv


def _import(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    """Import from a valid CMS source folder, a broken one, or no folder; into a file, a folder, a path under a file."""
    source = rng.choice(["@/cms", "@/cms", "@/", "@/missing", "@/file.txt", "/etc"])
    if source == "@/cms" and rng.random() < 0.6:
        files["$cms"] = True
        if rng.random() < 0.3:  # one source file replaced by what must not be read
            name = rng.choice(["measures-data.json", "2020.json", "pi-measures.csv"])
            files["$special"] = {f"cms/{name}": rng.choice(["fifo", "zero", "folder", "huge", "dangling"])}
    elif source == "@/cms":
        for name in rng.sample(["measures-data.json", "benchmarks.json", "pi-measures.csv", "2020.json"], rng.randint(0, 4)):
            files[f"cms/{name}"] = rng.choice(["[]", "{}", "[1]", "not json", "[{\"measureId\": 1}]", "", "a,b\n1,2\n"])
    argv = ["import-cms-data", source, "--year", "2020" if rng.random() < 0.8 else rng.choice(["abc", "-1", "99999"]),
            "--version", "v1" if rng.random() < 0.85 else rng.choice(["", "\n", "<script>"])]
    if rng.random() < 0.8:
        out = rng.choice(["@/out.json", "@/", "@/file.txt/x.json", "@/new/deep/x.json", "/proc/x.json", "@/fifo"])
        if out == "@/fifo":
            fifos.append("fifo")
        argv += ["--out", out]
    return "import", argv


def _junk(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    pool = ["score", "explain", "compare", "diff", "new-year", "validate", "import-cms-data", "--help", "--version",
            "--format", "json", "--year", "nosuch", "-", "--", "-x", *HOSTILE[:5], SAMPLES[0], "2020"]
    return "junk", [rng.choice(pool) for _ in range(rng.randint(0, 5))]


REVIEW = "%/tests/review/2020-individual-quality-ia-pi.json"
SCORE_RESPONSE = "%/tests/review/cms-2017-example-score-response.json"
FIGURES: dict[str, Any] = {
    "performance_year": 2020, "entity": {"tin": "000000301", "npi": "1000000301"}, "final_score": 42.29,
    "categories": {"quality": {"score": 14.1667, "weight": 55, "points": 7.79, "measures": {"236": 8.5}},
                   "cost": {"weight": 0}, "ia": {"score": 50, "weight": 15, "points": 7.5, "measures": {"IA_PSPA_6": 20}},
                   "pi": {"score": 90, "weight": 30, "points": 27, "measures": {"PI_EP_1": 10, "PI_PEA_1": 30}}},
    "complex_patient_bonus": 0, "payment": {"adjustment": -0.54, "exceptional": 0, "total": -0.54},
}
ODD: list[Any] = [None, True, -1, 0, 1e308, 10**30, "", "x" * 5000, [], {}, [1, "a"], {"a": {"b": 1}}, "2020",
                  *HOSTILE[:4], 42.123456789, -0.0]


def _paths_of(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    children = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else []
    for key, value in children:
        found += _paths_of(value, (*prefix, key))
    return found


def _figures_text(rng: random.Random) -> str | bytes:
    """CMS's figures for the review sample, changed one way (a value, a key, the text), as YAML or JSON."""
    doc = json.loads(json.dumps(FIGURES))
    for _ in range(rng.randint(0, 3)):
        path = rng.choice(_paths_of(doc)[1:])
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        how = rng.random()
        if how < 0.6:
            parent[path[-1]] = rng.choice(ODD)
        elif how < 0.8 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[rng.choice(["zzz", "qualiti", "236", "", "final score"])] = rng.choice(ODD)
    text = json.dumps(doc) if rng.random() < 0.5 else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    roll = rng.random()
    if roll < 0.1:
        return text.replace("42.29", rng.choice([".nan", "NaN", "1e400", "9" * 5000, "-.inf", "0x2A", "42,29"]), 1)
    if roll < 0.2:
        return text[: rng.randrange(len(text) + 1)]
    if roll < 0.25:
        return text.encode() + rng.choice([b"\xff", b"\xc3\x28"])
    if roll < 0.35:
        return rng.choice(["a: &a [*a]\n", "final_score: !!python/object/apply:os.getcwd []\n", "[" * 5000,
                           "a: &a ['x','x','x','x','x','x','x','x','x']\n" + "".join(
                               f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                               for i in range(8)), "{final_score: 42.29, final_score: 40}\n", ""])
    return text


def _review(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    """``review`` of the review sample (or another submission) against CMS figures that are hostile one way, or
    against CMS's 2017 score response."""
    submission = REVIEW if rng.random() < 0.7 else _submission(rng, files, fifos)
    roll = rng.random()
    if roll < 0.1:
        cms = SCORE_RESPONSE
        submission = "%/tests/review/cms-2017-example-submission.json" if rng.random() < 0.7 else submission
    elif roll < 0.15:
        cms = rng.choice(["@/missing.yaml", "@/", "/dev/zero", "/etc/passwd", "@/file.txt", SAMPLES[0]])
    elif roll < 0.17:
        fifos.append("fifo")
        cms = "@/fifo"
    else:
        name = f"feedback.{rng.choice(['yaml', 'json', 'txt'])}"
        files[name] = _figures_text(rng)
        cms = f"@/{name}"
    argv = ["review", submission, "--cms", cms, *_profile_options(rng, files)]
    if rng.random() < 0.3:
        argv += ["--year", _year(rng)]
    return "review", argv + ["--format", rng.choice(["text", "md", "json"])]


def _population(rng: random.Random, files: dict[str, Any], fifos: list[str]) -> tuple[str, list[str]]:
    """``batch`` over a JSON Lines file of samples and garbage lines (or a source that is none); ``explain --row`` or
    ``adjust`` over a file that is not a results Parquet."""
    roll = rng.random()
    if roll < 0.7:
        lines = []
        for _ in range(rng.randint(0, 6)):
            text = _repository_file(rng.choice(SAMPLES)).read_text(encoding="utf-8")
            pick = rng.random()
            lines.append(json.dumps(json.loads(text)) if pick < 0.5 else rng.choice(
                ["", "{", "[]", "null", '"x"', "NaN", "[" * 5000, '{"performanceYear": 1e400}', "\ufeff{}",
                 '{"a": 1, "a": 2}']))
        files["in.jsonl"] = "\n".join(lines) + ("\n" if rng.random() < 0.8 else "")
        source = "@/in.jsonl" if rng.random() < 0.9 else rng.choice(["@/", "/dev/null", "@/missing.jsonl", "@/file.txt"])
        return "batch", ["batch", source, "--year", _year(rng, 0.2), "-o", "@/out.parquet"]
    files["results.parquet"] = rng.choice([b"", b"PAR1", rng.randbytes(300), b"PAR1" + rng.randbytes(100) + b"PAR1",
                                           "{}\n"])
    if roll < 0.85:
        return "explain --row", ["explain", "--row", rng.choice(["0", "-1", "99", "x", "9" * 30]), "@/results.parquet"]
    return "adjust", ["adjust", "@/results.parquet", "--entities", rng.choice(["@/results.parquet", "@/missing"]), "-o",
                      "@/adjusted.parquet"]


MAKERS = [(_plausible, 25), (_scoring, 30), (_compare, 8), (_diff, 6), (_validate, 6), (_new_year, 15), (_import, 4),
          (_review, 8), (_population, 3), (_junk, 6)]


def case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    maker = rng.choices([m for m, _ in MAKERS], weights=[w for _, w in MAKERS])[0]
    files: dict[str, Any] = {"file.txt": "not a folder\n"}
    fifos: list[str] = []
    label, argv = maker(rng, files, fifos)
    return Case(label, {"argv": argv, "files": files, "fifos": fifos})


def _lay_out(folder: Path, payload: dict[str, Any]) -> None:
    files = dict(payload["files"])
    specials = files.pop("$special", {})
    if files.pop("$cms", False):
        from tests.test_importer import build_source

        build_source(folder / "cms")
    for target, year in files.pop("$copies", {}).items():
        shutil.copytree(ROOT / "rules" / year, folder / target)
    for name, changes in files.pop("$edits", {}).items():
        path = folder / name
        text = path.read_text(encoding="utf-8")
        for old, new in changes:
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for name, points_to in files.pop("$links", {}).items():
        (folder / name).symlink_to(points_to)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir(exist_ok=True)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
    for name in payload["fifos"]:
        os.mkfifo(folder / name)
    for name, what in specials.items():
        _special(folder / name, what)


def _special(path: Path, what: str) -> None:
    """Replace a laid-out file by a FIFO, a link to /dev/zero or to nothing, a folder, or a sparse file of 64 MiB
    and one byte (one byte over what the engine reads; nothing is written)."""
    path.unlink()
    if what == "fifo":
        os.mkfifo(path)
    elif what == "zero":
        path.symlink_to("/dev/zero")
    elif what == "dangling":
        path.symlink_to(path.parent / "nowhere")
    elif what == "folder":
        path.mkdir()
    else:
        with open(path, "wb") as handle:
            handle.truncate((64 << 20) + 1)


class Refused(MipsError):
    """The command ended with a refusal exit and a ``mips: `` message."""


class Crashed(Exception):
    """The command ended with the internal-error exit, another code, or output that breaks its promise."""


def _stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    return stream.buffer.getvalue().decode(stream.encoding, errors="replace")  # type: ignore[attr-defined]


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def _no_constant(name: str) -> None:
    raise Crashed(f"--format json printed {name}")


def _check_output(argv: list[str], out: str) -> None:
    """A result keeps its promises: valid, finite JSON for ``--format json``; HTML without a script; otherwise no
    control character, and in Markdown no raw HTML."""
    if _option(argv, "--format") == "json":
        json.loads(out, parse_constant=_no_constant)
    elif _option(argv, "--format") == "html":
        if re.search(r"<script", out, re.IGNORECASE):
            raise Crashed(f"HTML output carries a script: {out[:200]!r}")
    elif re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202e]", out):
        raise Crashed(f"output carries a control character: {out[:200]!r}")
    elif _option(argv, "--format") == "md" and re.search(r"<[a-zA-Z/!]", out):
        raise Crashed(f"Markdown output carries raw HTML: {out[:200]!r}")


def _crash_signature(err: str) -> str:
    """The exception and innermost engine frame of the traceback that the internal-error exit printed."""
    frames = re.findall(r'File "[^"]*/engine/([^"]+)", line (\d+)', err)
    found = re.search(r"^mips: internal error: (.*)$", err, re.MULTILINE)
    where = f"{frames[-1][0]}:{frames[-1][1]}" if frames else "?"
    return f"internal error at {where}: {found.group(1)[:100] if found else err[-200:]}"


def run(case: Case) -> None:
    payload = case.payload
    out, err = _stream(), _stream()
    previous = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _lay_out(folder, payload)
        argv = [a.replace("@/", f"{tmp}/").replace("%/", f"{ROOT}/") for a in payload["argv"]]
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), mock.patch.dict(os.environ, MIPS_DEBUG="1"):
                code = main(argv)
        except SystemExit as exc:  # argparse: --help and --version exit 0, bad usage 2
            code = exc.code
        finally:
            os.chdir(previous)
    message = _text(err)
    if code == 0:
        return _check_output(argv, _text(out))
    if code == EXIT_INTERNAL:
        raise Crashed(_crash_signature(message))
    if code not in (1, 2) or not re.search(r"^mips: \S", message, re.MULTILINE):
        raise Crashed(f"exit {code!r} with {message[:200]!r}")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202e]", message):
        raise Crashed(f"message carries a control character: {message[:200]!r}")
    raise Refused(message)
