"""``mips review``: the targeted-review worksheet of a submission against the figures CMS published for it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.base.jsontext import to_json
from engine.inputs.cms_figures import read_cms_figures
from engine.inputs.submission import merge_submissions, read_submission
from engine.interfaces.api import score
from engine.outputs.review import render_worksheet, worksheet


def register(sub: Any, profile: Callable[[argparse.Namespace], dict[str, Any]]) -> None:
    """Add ``review`` to the ``mips`` parser; ``profile`` reads --profile and --fact as the other commands do."""
    r = sub.add_parser("review", help="lay CMS's published figures beside the engine's and name the first that "
                                      "differs, its input, its rule and the targeted-review ground it points to")
    r.add_argument("submissions", nargs="+", metavar="SUBMISSION.json",
                   help="QPP submission JSON; several files of one entity and year are merged")
    r.add_argument("--cms", required=True, metavar="FEEDBACK",
                   help="CMS's figures: the CMS-figures form (JSON or YAML, docs/review.md) or a Submissions API "
                        "score response as it is")
    r.add_argument("--year", help="performance year or rulebook folder (default: the submission's year)")
    r.add_argument("--profile", help="YAML/JSON file of facts the submission does not carry")
    r.add_argument("--fact", action="append", metavar="NAME=VALUE", help="one profile fact")
    r.add_argument("--format", choices=("text", "md", "json"), default="text")

    def run(args: argparse.Namespace) -> int:
        figures = read_cms_figures(args.cms)  # refused before anything is scored
        submission = merge_submissions([read_submission(p) for p in args.submissions])
        result = score(submission, year=args.year, profile=profile(args))
        given = str(Path(args.profile)) if args.profile else None
        sheet = worksheet(result.document, result.trace.book, submission, figures,
                          given if not args.fact else f"{given or 'no profile file'} with --fact {', '.join(args.fact)}")
        out = to_json(sheet, indent=True).decode() + "\n" if args.format == "json" else render_worksheet(
            sheet, args.format)
        sys.stdout.write(out)
        return 0

    r.set_defaults(run=run)
