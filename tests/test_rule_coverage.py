"""Every value a rulebook's schema accepts is read by some scoring step on a golden path, or declared
documentary (and then a what-if on it is refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load, score
from engine.authoring.compare import compare
from engine.inputs.profile import load_profile
from engine.inputs.submission import read_submission
from engine.rules import loader
from engine.rules.model import Rulebook

GOLDEN = Path(__file__).resolve().parent / "golden"
YEARS = ("2017", "2020", "2021", "2022")


@pytest.fixture(scope="module")
def reads() -> dict[int, set[str]]:
    """Addresses read through the rulebook while every golden case is loaded and scored, and compared."""
    seen: dict[int, set[str]] = {}
    originals = {name: getattr(Rulebook, name) for name in ("param", "value", "value_or", "evaluate", "rule")}

    def recording(name: str) -> Any:
        def read(self: Rulebook, address: str, *args: Any) -> Any:
            seen.setdefault(self.year, set()).add(address)
            if address in self.rules:
                stem = address.split(".")[0]
                seen[self.year].update(f"{stem}.{c}" for c in self.rules[address].expression.constants)
            return originals[name](self, address, *args)
        return read

    loader._cache.clear()
    try:
        for name in originals:
            setattr(Rulebook, name, recording(name))
        for case in sorted(p for p in GOLDEN.glob("*/*") if (p / "expected.yaml").exists()):
            overrides = yaml.safe_load((case / "expected.yaml").read_text()).get("overrides") or None
            profile = case / "profile.yaml"
            score(sorted(case.glob("submission*.json")), load(case.parent.name, overrides=overrides),
                  profile=profile if profile.exists() else None)
        for sample in (GOLDEN / "2020" / "appA_all_three_individual", GOLDEN / "2017" / "aci_transition_set_62_15_5"):
            compare(read_submission(sample / "submission.json"), list(YEARS), load_profile(None))
    finally:
        for name, original in originals.items():
            setattr(Rulebook, name, original)
        loader._cache.clear()
    return seen


@pytest.mark.parametrize("year", YEARS)
def test_every_value_is_read_or_documentary(year: str, reads: dict[int, set[str]]) -> None:
    book = load(year)
    unread = sorted(a for a, p in book.params.items() if a not in reads[int(year)] and not p.documentary)
    assert unread == [], f"rules/{year}: read on no golden path and not marked documentary: {unread}"
    assert sorted(a for a in book.rules if a not in reads[int(year)]) == []
