"""The fuzz suite: mutated submissions, profiles, rulebooks, expressions and command lines, each case bounded in
time and memory and sorted into result, refusal, traceback or hang (``python -m fuzz --help``)."""
