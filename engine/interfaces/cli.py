"""The ``mips`` command: score, explain, validate and import, with located errors and Unix exit codes.

Exit codes: 0 done; 1 the rulebook is invalid; 2 the input was refused (a message says why); 3 an internal error,
a bug in mips (set MIPS_DEBUG=1 to print its traceback). Every message goes to stderr as ``mips: <where>: <what>``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import yaml

from engine._version import __version__
from engine.base.errors import Location, MipsError, OverrideError, ProfileError, RulebookError, RulebookErrors
from engine.base.jsontext import to_json
from engine.inputs.profile import check_profile, load_profile
from engine.interfaces import population_cli, review_cli
from engine.interfaces.api import load, score
from engine.outputs.escaping import one_line
from engine.outputs.feedback import render
from engine.outputs.formatting import signed_percent
from engine.rules.loader import load_rulebook
from engine.rules.overrides import parse_override
from engine.scoring.pipeline import Result

EXIT_RULEBOOK, EXIT_INPUT, EXIT_INTERNAL = 1, 2, 3
DEBUG_VARIABLE = "MIPS_DEBUG"


def _finite(value: Any, depth: int = 0) -> bool:
    """Whether every number in ``value`` is finite (JSON has no NaN or Infinity, and no score is one) and its
    nesting ends (a YAML alias can make a list that contains itself)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return depth < 64 and all(_finite(v, depth + 1) for v in items)
    return True


def _overrides(items: Sequence[str] | None) -> dict:
    overrides = dict(parse_override(i) for i in items or [])
    for address, value in overrides.items():
        if not _finite(value):
            raise OverrideError(f"--set {address}: {value!r} is not a finite value (no .nan, .inf or alias that "
                                "contains itself)")
    return overrides


def _fact(item: str) -> tuple[list[str], Any]:
    """``--fact NAME=VALUE``: the dotted name's parts and the value read as YAML."""
    name, sep, raw = item.partition("=")
    parts = name.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ProfileError(Location("--fact"), f"{item!r}: expected NAME=VALUE, e.g. smallGroupPractitioner=true")
    try:
        value = yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError):
        raise ProfileError(Location("--fact"), f"{item!r}: the value is not valid YAML",
                           "e.g. true, 1.8 or [quality, cost]") from None
    if not _finite(value):
        raise ProfileError(Location("--fact"), f"{item!r}: not a finite value",
                           "no .nan, .inf or alias that contains itself")
    return parts, value


def _profile(args: argparse.Namespace) -> dict:
    """The profile file, with each ``--fact NAME=VALUE`` (dotted for nested facts) laid over it."""
    facts = load_profile(args.profile)
    for item in args.fact or []:
        (*parents, leaf), value = _fact(item)
        target = facts
        for depth, parent in enumerate(parents):
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ProfileError(Location("--fact"), f"{item!r}: {'.'.join(parents[:depth + 1])} is not a group of "
                                   f"facts but {target!r}", "set the group's facts, or the value itself")
        target[leaf] = value
    return check_profile(facts, args.profile or "--fact")


def _json(document: Any) -> str:
    return to_json(document, indent=True).decode() + "\n"


def _score(args: argparse.Namespace) -> Result:
    return score([Path(p) for p in args.submissions], year=args.year, profile=_profile(args),
                 overrides=_overrides(args.set), as_of=args.as_of)


def _summary(result: Result) -> str:
    """The text summary; every value from the submission or the rulebook is kept to one line (``one_line``)."""
    d = result.document
    lines = [f"MIPS {d['rulebook']['year']} final score: {_n(d['final_score'])}"
             + (" (neutral: fewer than two categories scored)" if d["neutral"] else "")]
    lines.append(f"{'category':<28}{'score %':>10}{'weight %':>10}{'points':>10}")
    for category in d["categories"].values():
        title = one_line(category["title"])
        if category["reweighted"]:
            lines.append(f"{title:<28}{'N/A':>10}{'0':>10}{'-':>10}")
        else:
            lines.append(f"{title:<28}{_n(category['percent']):>10}{_n(category['weight']):>10}{_n(category['points']):>10}")
    bonus = d["categories"]["quality"]["detail"].get("bonus") or {}
    if any(bonus.values()):
        lines.append("Quality bonus points: " + ", ".join(f"{one_line(k).replace('_', ' ')} {_n(v)}" for k, v in bonus.items()))
    lines.append(f"{'Complex patient bonus':<28}{'':>20}{_n(d['complex_patient_bonus']):>10}")
    p = d["payment"]
    shown = p["display"]
    lines.append(f"Payment adjustment ({d['rulebook']['payment_year']}): {one_line(p['band']).replace('_', ' ')}, "
                 f"{signed_percent(shown['total'], 2)} as received (adjustment {signed_percent(shown['adjustment'], 2)}"
                 f" + exceptional {signed_percent(shown['exceptional'], 2)}, truncated as CMS shows them); before "
                 f"scaling {signed_percent(p['adjustment_before_scaling'])} + exceptional "
                 f"{signed_percent(p['exceptional_before_scaling'])}")
    lines.append(f"Reweighting: {one_line(d['reweighting']['row'])} ({one_line(d['reweighting']['table'])})")
    for issue in d["issues"]:
        label = "not scored" if issue["severity"] == "error" else "note"
        lines.append(f"input problem ({label}): {one_line(issue['file'])} {one_line(issue['path'])}: "
                     f"{one_line(issue['message'])}")
    return "\n".join(lines) + "\n"


def _n(value: float | int) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") if isinstance(value, float) else one_line(value)


def cmd_score(args: argparse.Namespace) -> int:
    result = _score(args)
    if args.format == "json":
        sys.stdout.write(_json(result.document))
    elif args.format == "text":
        sys.stdout.write(_summary(result))
    else:
        sys.stdout.write(render(result.document, args.format, book=result.trace.book))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    if args.row is not None:  # a row of a batch result, explained from its input row
        result = population_cli.explained_row(args.submissions[0], args.row)
    else:
        result = _score(args)
    sys.stdout.write(render(result.document, args.format, book=result.trace.book))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    book = load(args.rulebook, _overrides(args.set))
    flagged = book.unverified()
    print(f"{one_line(book.display_path)}: valid ({len(book.params)} values, {len(book.rules)} formulas, "
          f"{len(book.reference.quality)} quality measures, {len(book.reference.benchmarks)} benchmarks; "
          f"{book.checksum})")
    print(f"{len(flagged)} values still marked unverified:")
    for item in flagged:
        print(f"  {one_line(item.file)}:{item.line} {one_line(item.address)}: {one_line(item.unverified)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from engine.authoring.compare import compare
    from engine.inputs.submission import merge_submissions, read_submission
    from engine.outputs.compare_report import compare_report

    submission = merge_submissions([read_submission(p) for p in args.submissions])
    doc = compare(submission, args.years, _profile(args), _overrides(args.set))
    sys.stdout.write(_json(doc) if args.format == "json" else compare_report(doc, args.format))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from engine.authoring.rulediff import diff_rulebooks, reference_summary
    from engine.outputs.tabular import diff_report

    # a year just copied with `mips new-year` can be diffed before its CMS data is imported
    old, new = (load_rulebook(p, reference_year_must_match=False) for p in (args.old, args.new))
    doc = {"old": old.year, "new": new.year, "changes": [c.as_dict() for c in diff_rulebooks(old, new)],
           "reference_data": reference_summary(old, new)}
    sys.stdout.write(_json(doc) if args.format == "json" else diff_report(doc, args.format))
    return 0


def cmd_new_year(args: argparse.Namespace) -> int:
    from engine.authoring.newyear import new_year

    if args.into == "":
        raise RulebookError(Location("--into"), "is empty", "give the folder for the copy, or leave --into out")
    target = new_year(args.source, args.year, Path(args.into) if args.into is not None else None)
    year, source, where = target.name, one_line(args.source), one_line(target)
    print(f"wrote {where}: a copy of {source} for performance year {year}.")
    print(f"Next: import the year's CMS data (mips import-cms-data DIR --year {year} --version V "
          f"--out {where}/reference/cms-measures.json), edit the values that change, then "
          f"`mips diff {source} {where}` and `mips validate {where}`.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from engine.authoring.importer import ReferenceImportError, default_out_path, run

    out = Path(args.out) if args.out else default_out_path(args.year)
    try:
        summary = run(Path(args.source), args.year, args.version, args.commit, out)
    except OSError as exc:  # the importer reports what it reads; this is the output file
        raise ReferenceImportError(f"{one_line(out)}: cannot write the reference data: {exc.strerror or exc} "
                                   "(give --out a file path in a folder you can write)") from None
    print(one_line(summary))
    return 0


class _Parser(argparse.ArgumentParser):
    """Usage errors reported like every other refusal: ``mips: <argument>: <what was wrong>``, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"mips: {one_line(message)}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mips", description="Score MIPS submissions from yearly YAML rulebooks.",
                     epilog=f"exit codes: 0 done; {EXIT_RULEBOOK} the rulebook is invalid; {EXIT_INPUT} the input was refused "
                     f"(a message says why); {EXIT_INTERNAL} an internal error, a bug in mips ({DEBUG_VARIABLE}=1 prints "
                     "its traceback)")
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
    e = scoring("explain", "print the feedback explaining every number (html: one self-contained page)",
                ("text", "md", "html"), "text")
    e.add_argument("--row", type=int, metavar="N", help="explain row N (from 0) of a results Parquet of mips batch, "
                   "given in place of the submission")
    e.set_defaults(run=cmd_explain)
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
    n.add_argument("year", help="the new performance year (four digits)")
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
    population_cli.register(sub)
    review_cli.register(sub, _profile)
    return parser


def _utf8_output() -> None:
    """Write UTF-8 whatever the locale (``LANG=C``, ``PYTHONIOENCODING=ascii``), replacing what cannot be encoded
    (a lone surrogate from an undecodable file name) rather than failing."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(encoding="utf-8", errors="replace")


def _internal_error(exc: Exception) -> int:
    """A bug, not a problem with the user's files: a short message, and the traceback only when asked for."""
    debug = bool(os.environ.get(DEBUG_VARIABLE))
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"mips: internal error: {type(exc).__name__}: {one_line(exc)[:300]}", file=sys.stderr)
    print(f"mips: this is a bug in mips {__version__}, not a problem with your files; please report it with the "
          "command that caused it" + ("" if debug else f" (run it with {DEBUG_VARIABLE}=1 to add the traceback)"),
          file=sys.stderr)
    return EXIT_INTERNAL


def main(argv: Sequence[str] | None = None) -> int:
    _utf8_output()
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped to a reader that stopped early (e.g. head)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0
    except RulebookErrors as exc:
        print(f"mips: the rulebook has {len(exc.errors)} problem(s):", file=sys.stderr)
        for error in exc.errors:
            print(f"  {one_line(error)}", file=sys.stderr)
        return EXIT_RULEBOOK
    except MipsError as exc:
        print(f"mips: {one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("mips: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file that cannot be read or written (a missing folder, no permission, a full disk)
        if exc.filename is None:
            return _internal_error(exc)
        print(f"mips: {one_line(exc.filename)}: {one_line(exc.strerror or exc)}", file=sys.stderr)
        return EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - every other exception is a bug, reported as one
        return _internal_error(exc)


if __name__ == "__main__":
    raise SystemExit(main())
