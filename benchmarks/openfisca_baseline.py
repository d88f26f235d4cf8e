"""OpenFisca baseline: one traced single-situation computation, as OpenFisca's web API /trace endpoint does it.

Each call runs ``openfisca_web_api.handlers.trace`` on a one-person situation: build the simulation from the
situation dict with ``SimulationBuilder``, set ``simulation.trace = True`` (full tracer), calculate the requested
variables (``income_tax`` and ``basic_income`` for one month), then serialize the flat trace and describe the
entities. The country template's TaxBenefitSystem is built once, outside the timing; HTTP and JSON are not timed.

    ../benchvenv/bin/python benchmarks/openfisca_baseline.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from openfisca_country_template import CountryTaxBenefitSystem
from openfisca_web_api import handlers

BATCHES = 7
PERIOD = "2017-01"

# One adult with a salary. income_tax reads taxes.income_tax_rate through salary, capital_returns and pension
# (pension: age, birth, general.age_of_retirement); basic_income reads general.age_of_majority and
# benefits.basic_income through age. None marks a value to compute, as in a /trace request.
SITUATION: dict = {
    "persons": {
        "Alicia": {
            "birth": {"ETERNITY": "1980-01-01"},
            "salary": {PERIOD: 4000},
            "income_tax": {PERIOD: None},
            "basic_income": {PERIOD: None},
        },
    },
    "households": {"_": {"adults": ["Alicia"]}},
}
REQUESTED = [f"income_tax<{PERIOD}>", f"basic_income<{PERIOD}>"]


def openfisca_traced_single(repeat: int) -> float:
    """Seconds per traced single-situation call: the median over ``BATCHES`` batches of ``repeat`` calls each."""
    system = CountryTaxBenefitSystem()
    result = handlers.trace(system, SITUATION)  # warm-up, and a check that both variables were computed
    if result["requestedCalculations"] != REQUESTED or not set(REQUESTED) <= result["trace"].keys():
        raise RuntimeError(f"unexpected OpenFisca trace: {result['requestedCalculations']}")
    per_call = []
    for _ in range(BATCHES):
        start = time.perf_counter()
        for _ in range(repeat):
            handlers.trace(system, SITUATION)
        per_call.append((time.perf_counter() - start) / repeat)
    return statistics.median(per_call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per batch")
    args = parser.parse_args()
    seconds = openfisca_traced_single(args.repeat)
    print(f"OpenFisca traced single situation (income_tax + basic_income, {PERIOD}): {seconds * 1e3:.3f} ms per call")


if __name__ == "__main__":
    main()
