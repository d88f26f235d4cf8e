"""The ``mips`` command: score, explain, validate and import, with located errors and Unix exit codes.

Exit codes: 0 done; 1 the rulebook is invalid; 2 the input was refused (a message says why).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from engine._version import __version__
from engine.base.errors import Location, MipsError, OverrideError, ProfileError, RulebookErrors
from engine.inputs.profile import check_profile, load_profile
from engine.interfaces.api import load, score
from engine.outputs.feedback import render
from engine.rules.loader import load_rulebook
from engine.rules.overrides import parse_override
from engine.scoring.pipeline import Result

EXIT_RULEBOOK, EXIT_INPUT = 1, 2


def _overrides(items: Sequence[str] | None) -> dict:
    return dict(parse_override(i) for i in items or [])


def _profile(args: argparse.Namespace) -> dict:
    """The profile file, with each ``--fact NAME=VALUE`` (dotted for nested facts) laid over it."""
    facts = load_profile(args.profile)
    for item in args.fact or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise ProfileError(Location("--fact"), f"{item!r}: expected NAME=VALUE, e.g. smallGroupPractitioner=true")
        target = facts
        *parents, leaf = name.strip().split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = yaml.safe_load(raw)
    return check_profile(facts, args.profile or "--fact")


def _score(args: argparse.Namespace) -> Result:
    return score([Path(p) for p in args.submissions], year=args.year, profile=_profile(args),
                 overrides=_overrides(args.set), as_of=args.as_of)


def _summary(result: Result) -> str:
    d = result.document
    lines = [f"MIPS {d['rulebook']['year']} final score: {_n(d['final_score'])}"
             + (" (neutral: fewer than two categories scored)" if d["neutral"] else "")]
    lines.append(f"{'category':<28}{'score %':>10}{'weight %':>10}{'points':>10}")
    for category in d["categories"].values():
        if category["reweighted"]:
            lines.append(f"{category['title']:<28}{'N/A':>10}{'0':>10}{'-':>10}")
        else:
            lines.append(f"{category['title']:<28}{_n(category['percent']):>10}{_n(category['weight']):>10}"
                         f"{_n(category['points']):>10}")
    bonus = d["categories"]["quality"]["detail"].get("bonus") or {}
    if any(bonus.values()):
        lines.append("Quality bonus points: " + ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in bonus.items()))
    lines.append(f"{'Complex patient bonus':<28}{'':>20}{_n(d['complex_patient_bonus']):>10}")
    p = d["payment"]
    lines.append(f"Payment adjustment ({d['rulebook']['payment_year']}): {p['band'].replace('_', ' ')}, "
                 f"{_n(p['adjustment_before_scaling'])} % + exceptional {_n(p['exceptional_before_scaling'])} % "
                 "before scaling")
    lines.append(f"Reweighting: {d['reweighting']['row']} ({d['reweighting']['table']})")
    for issue in d["issues"]:
        label = "not scored" if issue["severity"] == "error" else "note"
        lines.append(f"input problem ({label}): {issue['file']} {issue['path']}: {issue['message']}")
    return "\n".join(lines) + "\n"


def _n(value: float | int) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def cmd_score(args: argparse.Namespace) -> int:
    result = _score(args)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.document, indent=2, sort_keys=False) + "\n")
    elif args.format == "text":
        sys.stdout.write(_summary(result))
    else:
        sys.stdout.write(render(result.document, args.format))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    sys.stdout.write(render(_score(args).document, args.format))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    book = load(args.rulebook, _overrides(args.set))
    flagged = book.unverified()
    print(f"{book.display_path}: valid ({len(book.params)} values, {len(book.rules)} formulas, "
          f"{len(book.reference.quality)} quality measures, {len(book.reference.benchmarks)} benchmarks; "
          f"{book.checksum})")
    print(f"{len(flagged)} values still marked unverified:")
    for item in flagged:
        print(f"  {item.file}:{item.line} {item.address}: {item.unverified}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from engine.authoring.compare import compare
    from engine.inputs.submission import merge_submissions, read_submission
    from engine.outputs.tabular import compare_report

    submission = merge_submissions([read_submission(p) for p in args.submissions])
    doc = compare(submission, args.years, _profile(args), _overrides(args.set))
    sys.stdout.write(json.dumps(doc, indent=2) + "\n" if args.format == "json" else compare_report(doc, args.format))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from engine.authoring.rulediff import diff_rulebooks, reference_summary
    from engine.outputs.tabular import diff_report

    # a year just copied with `mips new-year` can be diffed before its CMS data is imported
    old, new = (load_rulebook(p, reference_year_must_match=False) for p in (args.old, args.new))
    doc = {"old": old.year, "new": new.year, "changes": [c.as_dict() for c in diff_rulebooks(old, new)],
           "reference_data": reference_summary(old, new)}
    sys.stdout.write(json.dumps(doc, indent=2) + "\n" if args.format == "json" else diff_report(doc, args.format))
    return 0


def cmd_new_year(args: argparse.Namespace) -> int:
    from engine.authoring.newyear import new_year

    target = new_year(args.source, args.year, Path(args.into) if args.into else None)
    print(f"wrote {target}: a copy of {args.source} for performance year {args.year}.")
    print(f"Next: import the year's CMS data (mips import-cms-data DIR --year {args.year} --version V "
          f"--out {target}/reference/cms-measures.json), edit the values that change, then "
          f"`mips diff {args.source} {target}` and `mips validate {target}`.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from engine.authoring.importer import run

    print(run(Path(args.source), args.year, args.version, args.commit, Path(args.out) if args.out else None))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mips", description="Score MIPS submissions from yearly YAML rulebooks.")
    parser.add_argument("--version", action="version", version=f"mips {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def scoring(name: str, help_text: str, formats: tuple[str, ...], default: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("submissions", nargs="+", metavar="SUBMISSION.json",
                       help="QPP submission JSON; several files of one entity and year are merged")
        p.add_argument("--year", help="performance year or rulebook folder (default: the submission's year)")
        p.add_argument("--profile", help="YAML/JSON file of facts the submission does not carry")
        p.add_argument("--fact", action="append", metavar="NAME=VALUE",
                       help="one profile fact, e.g. smallGroupPractitioner=true or complexPatient.averageHccScore=1.8")
        p.add_argument("--set", action="append", metavar="ADDRESS=VALUE",
                       help="what-if: replace a rulebook value, e.g. payment.performance_threshold=60")
        p.add_argument("--as-of", help="score with the rules as amended on this date (YYYY-MM-DD)")
        p.add_argument("--format", choices=formats, default=default)
        return p

    scoring("score", "print the final score, category scores and payment band", ("text", "json", "md"),
            "text").set_defaults(run=cmd_score)
    scoring("explain", "print the feedback text explaining every number", ("text", "md"),
            "text").set_defaults(run=cmd_explain)
    c = sub.add_parser("compare", help="score one submission under several years' rules, side by side")
    c.add_argument("submissions", nargs="+", metavar="SUBMISSION.json")
    c.add_argument("--years", nargs="+", required=True, help="years or rulebook folders, in order")
    c.add_argument("--profile")
    c.add_argument("--fact", action="append", metavar="NAME=VALUE")
    c.add_argument("--set", action="append", metavar="ADDRESS=VALUE",
                   help="what-if, applied to every compared year whose rulebook has the address")
    c.add_argument("--format", choices=("text", "json", "md"), default="text")
    c.set_defaults(run=cmd_compare)
    d = sub.add_parser("diff", help="every value that changed between two rulebooks, with both citations")
    d.add_argument("old", help="a year or rulebook folder")
    d.add_argument("new", help="a year or rulebook folder")
    d.add_argument("--format", choices=("text", "json", "md"), default="text")
    d.set_defaults(run=cmd_diff)
    n = sub.add_parser("new-year", help="copy a year's rulebook as the start of another year")
    n.add_argument("source", help="a year or rulebook folder to copy")
    n.add_argument("year", type=int, help="the new performance year")
    n.add_argument("--into", help="parent folder for the copy (default: beside the source)")
    n.set_defaults(run=cmd_new_year)
    v = sub.add_parser("validate", help="check a rulebook and list its unverified values")
    v.add_argument("rulebook", help="a performance year (a folder name under rules/) or a rulebook folder path")
    v.add_argument("--set", action="append", metavar="ADDRESS=VALUE")
    v.set_defaults(run=cmd_validate)
    i = sub.add_parser("import-cms-data", help="import CMS qpp-measures-data files into a rulebook folder")
    i.add_argument("source", help="folder with measures-data.json, <year>.json and pi-measures.csv")
    i.add_argument("--year", type=int, required=True)
    i.add_argument("--version", required=True, help="the qpp-measures-data release, e.g. v11.1.0")
    i.add_argument("--commit", help="the upstream commit the files come from")
    i.add_argument("--out", help="output file (default rules/<year>/reference/cms-measures.json)")
    i.set_defaults(run=cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped to a reader that stopped early (e.g. head)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except RulebookErrors as exc:
        print(f"mips: the rulebook has {len(exc.errors)} problem(s):", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        return EXIT_RULEBOOK
    except OverrideError as exc:
        print(f"mips: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except MipsError as exc:
        print(f"mips: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    raise SystemExit(main())
