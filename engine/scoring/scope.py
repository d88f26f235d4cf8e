"""Whether a submission is one this rulebook scores (year, entity type, program), and which program it names."""

from __future__ import annotations

from engine.base.errors import Location, SubmissionError
from engine.inputs.submission import Submission
from engine.rules.model import Rulebook


def check_scope(book: Rulebook, submission: Submission) -> None:
    """Refuse a submission for another year, an entity type or a program this rulebook does not score."""
    where = Location(submission.sources[0], pointer="$.performanceYear")
    if submission.performance_year != book.value("program.performance_year"):
        raise SubmissionError(where, f"the submission is for performance year {submission.performance_year}, "
                              f"but the rulebook is for {book.year}",
                              f"score it with --year {submission.performance_year}")
    programs = book.value("program.programs")
    if submission.entity_type not in book.value("program.entity_types"):
        raise SubmissionError(Location(submission.sources[0], pointer="$.entityType"),
                              f"entity type {submission.entity_type!r} is not scored in {book.year}")
    named = {p.lower(): p for p in [submission.program, *(s.program for s in submission.sets)] if p}
    if len(named) > 1:
        raise SubmissionError(Location(submission.sources[0], pointer="$.measurementSets[*].programName"),
                              f"measurement sets name different programs ({', '.join(sorted(named.values()))})",
                              "a submission is scored under one program; score each program's sets separately")
    for program in sorted(p for key, p in named.items() if key not in programs):
        raise SubmissionError(Location(submission.sources[0], pointer="$.programName"),
                              f"program {program!r} is not scored by this rulebook (it scores "
                              f"{', '.join(programs)}); its own model rules apply",
                              "a MIPS score for it would be wrong, so none is given")


def program_of(submission: Submission) -> str:
    """The program the submission names (its sets first), in lower case; MIPS when it names none."""
    named = [s.program for s in submission.sets if s.program] + [submission.program or "mips"]
    return named[0].lower()
