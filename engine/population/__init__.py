"""A population of entities scored together: which final score each TIN/NPI gets, the budget-neutral scaling of
payment adjustments, and synthetic populations for tests and benchmarks."""
