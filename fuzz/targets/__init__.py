"""One module per kind of input fuzzed; see ``fuzz.harness`` for what a target provides."""
