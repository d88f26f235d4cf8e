"""``python -m fuzz [--cases N] [--seed S] [--kinds a,b] [--save]``: run every target and print a table of
outcomes; exits 1 if any case ended in a traceback or a hang."""

from __future__ import annotations

import argparse
import pkgutil
import sys
from collections import Counter

from fuzz import targets
from fuzz.harness import OUTCOMES, fuzz, save

KINDS = sorted(m.name for m in pkgutil.iter_modules(targets.__path__))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000, help="generated cases per kind (default 20000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, of {', '.join(KINDS)}")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take (default 10)")
    parser.add_argument("--save", action="store_true", help="write each traceback or hang to the kept corpus")
    args = parser.parse_args()
    print(f"{'kind':<14}" + "".join(f"{o:>11}" for o in ("cases", *OUTCOMES)))
    failed = 0
    for kind in args.kinds.split(","):
        report = fuzz(f"fuzz.targets.{kind}", args.seed, args.cases, args.timeout)
        print(f"{report.kind:<14}{report.total:>11}" + "".join(f"{report.counts[o]:>11}" for o in OUTCOMES), flush=True)
        for (outcome, where), n in Counter((o, w) for o, w, _ in report.failures).most_common():
            print(f"    {n:>6} {outcome}: {where}")
        for _, _, case in report.failures if args.save else []:
            save(report.kind, case)
        failed += len(report.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
