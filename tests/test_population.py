"""The population stage: which final score each TIN/NPI receives, and budget neutrality over a population.

Scores and percents are fixed point at the rulebooks' 6 decimals (45 points = 45_000_000); paid amounts are cents.
Every expected value below is worked out by hand in the comments.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from engine import load
from engine.base.errors import RulebookErrors
from engine.population.hierarchy import KINDS, NO_SCORE, Memberships, Relations, Scores, choose, hierarchy_params
from engine.population.neutrality import (
    BALANCED,
    CAPPED,
    NO_EXCEPTIONAL,
    NO_NEGATIVE,
    NO_POSITIVE,
    POOLED,
    apply,
    combine,
    neutralize,
    partial_sums,
    solve,
)
from engine.scoring import columnar

ONE = 10**6  # one point or one percent in fixed point
CFR_MAXIMUM = Fraction(3)  # 42 CFR 414.1405(b)(3): a scaling factor "not to exceed 3.0"


def fx(text: str) -> int:
    """A decimal as fixed point: '93.4' -> 93_400_000."""
    return int(Fraction(text) * ONE)


def params(year: int):
    return columnar.compiled(load(year)).final


# --- hierarchy -----------------------------------------------------------------------------------------------

# Ten TIN/NPIs (rows 0-9), the entities they belong to, and the final scores of the scored entities.
TINS = ["111", "111", "222", "333", "444", "555", "666", "777", "888", "999"]
NPIS = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
APM = Memberships(np.array([0, 0, 0, 1, 8, 9, 9]), np.array(["E1", "E2", "E3", "E3", "E9", "E5", "E4"]))
VIRTUAL = Memberships(np.array([2]), np.array(["V1"]))
SCORES = {
    "apm_entity": Scores((np.array(["E1", "E2", "E3", "E4", "E5"]),),  # E9 has no final score
                         np.array([fx("70"), fx("85.5"), fx("60"), fx("77"), fx("77")])),
    "virtual_group": Scores((np.array(["V1"]),), np.array([fx("40")])),
    "group": Scores((np.array(["111", "222", "333", "444", "777", "888"]),),
                    np.array([fx("90"), fx("80"), fx("70"), fx("88"), fx("80"), fx("50")])),
    "individual": Scores((np.array(["111", "111", "222", "333", "444", "555", "777"]),
                          np.array(["A", "B", "C", "D", "E", "F", "H"])),
                         np.array([fx("95"), fx("99"), fx("95"), fx("75"), fx("60"), fx("33"), fx("80")])),
}
RELATIONS = Relations(np.array(TINS), np.array(NPIS), VIRTUAL, APM)

# Per row: (final score used, kind, position in that kind's Scores, reason, candidates considered).
COMMON = {
    # three APM Entity scores 70, 85.5, 60, group 90, individual 95: the highest APM Entity score, E2
    0: (fx("85.5"), "apm_entity", 1, "apm_entity", 5),
    # APM Entity E3 60 over group 90 and individual 99
    1: (fx("60"), "apm_entity", 2, "apm_entity", 3),
    # group 70 and individual 75: the higher, the individual
    3: (fx("75"), "individual", 3, "group_or_individual", 2),
    # group 88 and individual 60: the higher, the group
    4: (fx("88"), "group", 3, "group_or_individual", 2),
    # an individual score only
    5: (fx("33"), "individual", 5, "group_or_individual", 1),
    # no score at all
    6: (0, "", -1, NO_SCORE, 0),
    # group 80 and individual 80: equal, the source listed first in the step (group)
    7: (fx("80"), "group", 4, "group_or_individual", 2),
    # a membership of an APM Entity without a final score (E9) is no candidate: the group's 50
    8: (fx("50"), "group", 5, "group_or_individual", 1),
    # APM Entities E5 and E4 both 77: the membership listed first, E5 (position 4)
    9: (fx("77"), "apm_entity", 4, "apm_entity", 2),
}
BY_YEAR = {
    # virtual group 40 over group 80 and individual 95
    2020: {**COMMON, 2: (fx("40"), "virtual_group", 0, "virtual_group", 3)},
    # no virtual groups in 2017: V1 is listed but not used; the higher of group 80 and individual 95
    2017: {**COMMON, 2: (fx("95"), "individual", 2, "group_or_individual", 3)},
}


@pytest.mark.parametrize("year", sorted(BY_YEAR))
def test_hierarchy_picks_each_tin_npi_score(year: int) -> None:
    choice = choose(hierarchy_params(load(year)), RELATIONS, SCORES)
    expected = BY_YEAR[year]
    rows = sorted(expected)
    assert choice.score.tolist() == [expected[r][0] for r in rows]
    assert choice.source().tolist() == [expected[r][1] for r in rows]
    assert choice.entity.tolist() == [expected[r][2] for r in rows]
    assert choice.reason().tolist() == [expected[r][3] for r in rows]
    assert choice.considered.tolist() == [expected[r][4] for r in rows]
    candidates = choice.candidates
    assert np.bincount(candidates.row[candidates.chosen], minlength=10).tolist() == [1] * 6 + [0] + [1] * 3


def test_hierarchy_lists_the_candidates_of_a_tin_npi() -> None:
    for year, unused in ((2020, 0), (2017, 1)):
        candidates = choose(hierarchy_params(load(year)), RELATIONS, SCORES).candidates
        mine = candidates.row == 2  # TIN 222 / NPI C: virtual group 40, group 80, individual 95
        listed = sorted(zip(np.asarray(KINDS)[candidates.kind[mine]].tolist(), candidates.score[mine].tolist(),
                            candidates.chosen[mine].tolist(), strict=True))
        used = {2020: "virtual_group", 2017: "individual"}[year]
        assert listed == [(kind, score, kind == used) for kind, score in
                          (("group", fx("80")), ("individual", fx("95")), ("virtual_group", fx("40")))]
        assert int((candidates.step[mine] == -1).sum()) == unused  # 2017: the virtual group is in no step


def test_hierarchy_rulebooks() -> None:
    steps = {year: hierarchy_params(load(year)).steps for year in (2017, 2020, 2021, 2022)}
    assert [(s.name, s.sources) for s in steps[2017]] == [("apm_entity", ("apm_entity",)),
                                                          ("group_or_individual", ("group", "individual"))]
    for year in (2020, 2021, 2022):
        assert [(s.name, s.sources) for s in steps[year]] == [
            ("apm_entity", ("apm_entity",)), ("virtual_group", ("virtual_group",)),
            ("group_or_individual", ("group", "individual"))]
    assert all(s.unverified is None for year in (2017, 2020) for s in steps[year])
    assert all(s.unverified for year in (2021, 2022) for s in steps[year])  # the 2020 hierarchy, assumed


def test_a_kind_in_two_steps_is_a_rulebook_error() -> None:
    with pytest.raises(RulebookErrors, match="group is already a source of step virtual_group"):  # found at load
        load(2020, overrides={"hierarchy.steps.virtual_group": {"sources": ["group"], "pick": "highest"}})


def test_two_scores_for_one_entity_are_refused() -> None:
    twice = {**SCORES, "group": Scores((np.array(["111", "111"]),), np.array([1, 2]))}
    with pytest.raises(ValueError, match="group has more than one final score"):
        choose(hierarchy_params(load(2020)), RELATIONS, twice)


def test_hierarchy_with_ids_spanning_all_of_int64() -> None:
    # Offsets of such ids do not fit 64 bits together, so they are coded by rank: still found.
    wide = np.array([-(2**63), 2**63 - 1])
    relations = Relations(wide, wide[::-1].copy(), Memberships(np.array([], np.int64), np.array([], np.int64)),
                          Memberships(np.array([1]), np.array([2**62])))
    scores = {"individual": Scores((wide[::-1].copy(), wide), np.array([fx("10"), fx("20")])),
              "group": Scores((wide,), np.array([fx("30"), fx("5")])),
              "apm_entity": Scores((np.array([2**62]),), np.array([fx("1")]))}
    choice = choose(hierarchy_params(load(2020)), relations, scores)
    # row 0: TIN -2**63, NPI 2**63-1: individual 20 (the second individual) against group 30 -> group 30
    # row 1: TIN 2**63-1, NPI -2**63: APM Entity 1 over individual 10 and group 5
    assert choice.score.tolist() == [fx("30"), fx("1")]
    assert choice.source().tolist() == ["group", "apm_entity"]
    assert choice.considered.tolist() == [2, 3]


def _reference(year: int, relations: Relations, scores: dict[str, Scores]) -> list[tuple[int, str]]:
    """The hierarchy one TIN/NPI at a time, as the rulebook states it: (score, kind), (0, '') for none."""
    def table(kind: str) -> dict[tuple, int]:
        keys = zip(*(k.tolist() for k in scores[kind].keys), strict=True)
        return dict(zip(keys, scores[kind].score.tolist(), strict=True))
    found = {kind: table(kind) for kind in KINDS}
    apm: dict[int, list[int]] = {}
    for row, entity in zip(relations.apm_entity.row.tolist(), relations.apm_entity.entity.tolist(), strict=True):
        apm.setdefault(row, []).append(entity)
    vg = dict(zip(relations.virtual_group.row.tolist(), relations.virtual_group.entity.tolist(), strict=True))
    steps = hierarchy_params(load(year)).steps
    result = []
    for row, (tin, npi) in enumerate(zip(relations.tin.tolist(), relations.npi.tolist(), strict=True)):
        keys = {"apm_entity": [(e,) for e in apm.get(row, [])], "virtual_group": [(vg[row],)] if row in vg else [],
                "group": [(tin,)], "individual": [(tin, npi)]}
        picked = (0, "")
        for step in steps:
            options = [(found[kind][key], kind) for kind in step.sources for key in keys[kind] if key in found[kind]]
            if options:
                picked = max(options, key=lambda o: (o[0], -step.sources.index(o[1])))
                break
        result.append(picked)
    return result


@pytest.mark.parametrize("year", [2017, 2020])
def test_hierarchy_matches_a_row_by_row_reading(year: int) -> None:
    rng = np.random.default_rng(2017 + year)
    n = 3000
    tin = rng.integers(1, 400, n)
    npi = rng.integers(10**9, 10**9 + 2000, n)
    tin, npi = np.unique(np.stack([tin, npi]), axis=1)  # distinct TIN/NPIs
    n = len(tin)
    in_vg = np.flatnonzero(rng.random(n) < 0.2)
    apm_rows = np.concatenate([np.flatnonzero(rng.random(n) < 0.3), np.flatnonzero(rng.random(n) < 0.1)])
    relations = Relations(tin, npi, Memberships(in_vg, rng.integers(0, 30, len(in_vg))),
                          Memberships(apm_rows, rng.integers(0, 60, len(apm_rows))))
    scored = rng.random(n) < 0.7

    def some(keys: tuple[np.ndarray, ...], share: float) -> Scores:
        kept = rng.random(len(keys[0])) < share
        return Scores(tuple(k[kept] for k in keys), rng.integers(0, 21, int(kept.sum())) * 5 * ONE)  # many ties
    scores = {"individual": Scores((tin[scored], npi[scored]), rng.integers(0, 21, int(scored.sum())) * 5 * ONE),
              "group": some((np.arange(1, 400),), 0.6), "virtual_group": some((np.arange(30),), 0.8),
              "apm_entity": some((np.arange(60),), 0.7)}
    choice = choose(hierarchy_params(load(year)), relations, scores)
    assert list(zip(choice.score.tolist(), choice.source().tolist(), strict=True)) == _reference(year, relations, scores)


# --- budget neutrality ---------------------------------------------------------------------------------------

def test_2020_scaling_and_exceptional_factors_by_hand() -> None:
    # 2020: PT 45, AP 9, EPT 85; exceptional 0.5 % at 85 to 10 % at 100.
    #   row  score  paid       before scaling
    #   A    0      $1,000.00  -9 %                              -> -$90.00
    #   B    30     $2,000.00  -9 x (45 - 30)/45 = -3 %          -> -$60.00
    #   C    45     $500.00    0
    #   D    100    $4,000.00  +9 x 55/55 = 9 %; exceptional 10 %
    #   E    67     $1,000.00  +9 x 22/55 = 3.6 %
    #   F    93.4   $2,500.00  +9 x 48.4/55 = 7.92 %; exceptional 0.5 + 9.5 x 8.4/15 = 5.82 %
    # Decreases $150; positive dollars before scaling 360 + 36 + 198 = $594: SF = 150/594 = 25/99.
    # Exceptional dollars before scaling 400 + 145.50 = $545.50; a pool of $109.10 gives SF_x = 109.10/545.50 = 1/5.
    p = params(2020)
    score = [0, fx("30"), fx("45"), fx("100"), fx("67"), fx("93.4")]
    paid = [100_000, 200_000, 50_000, 400_000, 100_000, 250_000]
    factors, rows = neutralize(p, score, paid, 10_910, CFR_MAXIMUM)
    assert (factors.scaling, factors.status) == (Fraction(25, 99), BALANCED)
    assert (factors.exceptional, factors.exceptional_status) == (Fraction(1, 5), POOLED)
    assert factors.report()["scaling_factor"] == {"exact": "25/99", "decimal": "0.252525252525"}
    assert factors.report()["exceptional_scaling_factor"] == {"exact": "1/5", "decimal": "0.200000000000"}
    # After scaling: D 9 x 25/99 = 2.2727...; E 3.6 x 25/99 = 0.90909...; F 7.92 x 25/99 = 2 (6 decimals, half up).
    assert rows["adjustment"].tolist() == [-9 * ONE, -3 * ONE, 0, 2_272_727, 909_091, 2 * ONE]
    # Exceptional: D 10 x 1/5 = 2 %; F 5.82 x 1/5 = 1.164 %.
    assert rows["exceptional"].tolist() == [0, 0, 0, 2 * ONE, 0, 1_164_000]
    assert rows["total"].tolist() == [-9 * ONE, -3 * ONE, 0, 4_272_727, 909_091, 3_164_000]
    # Shown truncated to 2 decimals: 2.27 / 2.00 / 4.27; 0.90; 2.00 / 1.16 / 3.16.
    assert rows["display"]["adjustment"].tolist() == [-9 * ONE, -3 * ONE, 0, 2_270_000, 900_000, 2 * ONE]
    assert rows["display"]["exceptional"].tolist() == [0, 0, 0, 2 * ONE, 0, 1_160_000]
    assert rows["display"]["total"].tolist() == [-9 * ONE, -3 * ONE, 0, 4_270_000, 900_000, 3_160_000]
    # Increases share the $150.00 of decreases by cumulative rounding, in row order (D, E, F; weights 360:36:198):
    # D floor(15000 x 360/594) = floor(9090.9) = 9090; E floor(15000 x 396/594) - 9090 = 10000 - 9090 = 910;
    # F 15000 - 10000 = 5000. Exceptional: D 4000 x 2 % = $80.00, F 2500 x 1.164 % = $29.10.
    assert rows["cents"]["adjustment"].tolist() == [-9000, -6000, 0, 9090, 910, 5000]
    assert rows["cents"]["exceptional"].tolist() == [0, 0, 0, 8000, 0, 2910]
    assert rows["cents"]["total"].tolist() == [-9000, -6000, 0, 17_090, 910, 7910]


def test_2017_factors_by_hand() -> None:
    # 2017: PT 3, AP 4, EPT 70; the full -4 % up to 0.75.
    #   score 0    paid $1,000  -4 %                      -> -$40
    #   score 1.5  paid $2,000  -4 x (3 - 1.5)/3 = -2 %    -> -$40
    #   score 3    paid $500    0
    #   score 51.5 paid $1,000  +4 x 48.5/97 = 2 %        -> $20 before scaling
    #   score 100  paid $3,000  +4 %, exceptional 10 %    -> $120 before scaling, $300 exceptional
    # SF = 80/140 = 4/7; a pool of $60 gives SF_x = 60/300 = 1/5.
    p = params(2017)
    factors, rows = neutralize(p, [0, fx("1.5"), fx("3"), fx("51.5"), fx("100")],
                               [100_000, 200_000, 50_000, 100_000, 300_000], 6000, CFR_MAXIMUM)
    assert (factors.scaling, factors.exceptional, factors.status) == (Fraction(4, 7), Fraction(1, 5), BALANCED)
    # 2 x 4/7 = 1.142857142... -> 1.142857; 4 x 4/7 = 2.285714285... -> 2.285714; exceptional 10 x 1/5 = 2.
    assert rows["adjustment"].tolist() == [-4 * ONE, -2 * ONE, 0, 1_142_857, 2_285_714]
    assert rows["display"]["total"].tolist() == [-4 * ONE, -2 * ONE, 0, 1_140_000, 4_280_000]
    # $80.00 shared 20:120: floor(8000 x 20/140) = 1142, then 8000 - 1142 = 6858; exceptional $60.00 to the one row.
    assert rows["cents"]["adjustment"].tolist() == [-4000, -4000, 0, 1142, 6858]
    assert rows["cents"]["exceptional"].tolist() == [0, 0, 0, 0, 6000]


def test_scaling_factor_is_capped_at_3() -> None:
    # 2020: score 0 on $10,000 -> -$900; score 56 on $1,000 -> +9 x 11/55 = 1.8 % -> $18 before scaling.
    # Balancing needs 900/18 = 50 > 3: SF = 3, the adjustment 5.4 % -> $54.00, and the population cannot balance.
    factors, rows = neutralize(params(2020), [0, fx("56")], [1_000_000, 100_000], 0, CFR_MAXIMUM)
    assert (factors.scaling, factors.status) == (Fraction(3), CAPPED)
    assert rows["adjustment"].tolist() == [-9 * ONE, 5_400_000]
    assert rows["cents"]["adjustment"].tolist() == [-90_000, 5400]
    assert (factors.increase_cents, factors.sums.decrease_cents) == (5400, 90_000)
    # No exceptional performer: no exceptional factor.
    assert (factors.exceptional, factors.exceptional_status) == (Fraction(0), NO_EXCEPTIONAL)


def test_all_neutral_population() -> None:
    # Every score at the 2020 threshold 45: nothing to scale, nothing paid or taken.
    factors, rows = neutralize(params(2020), [fx("45"), fx("45")], [100_000, 250_000], 50_000, CFR_MAXIMUM)
    assert (factors.scaling, factors.status, factors.exceptional_status) == (Fraction(0), NO_POSITIVE, NO_EXCEPTIONAL)
    assert rows["total"].tolist() == [0, 0] and rows["cents"]["total"].tolist() == [0, 0]


def test_no_negative_population() -> None:
    # 2020: scores 45 ($1,000) and 100 ($2,000). No decrease funds the +9 %: SF = 0, the adjustment 0.
    # The exceptional adjustment is outside budget neutrality: $2,000 x 10 % = $200 before scaling; a pool of $50
    # gives SF_x = 1/4, so 2.5 % and $50.00.
    factors, rows = neutralize(params(2020), [fx("45"), fx("100")], [100_000, 200_000], 5000, CFR_MAXIMUM)
    assert (factors.scaling, factors.status) == (Fraction(0), NO_NEGATIVE)
    assert factors.exceptional == Fraction(1, 4)
    assert rows["adjustment"].tolist() == [0, 0]
    assert rows["total"].tolist() == [0, 2_500_000]
    assert rows["cents"]["total"].tolist() == [0, 5000]


def test_no_positive_population() -> None:
    # 2020: 11.25 is one-fourth of 45: the full -9 % ($1,000 -> -$90); 11.26: -9 x 33.74/45 = -6.748 % -> -$67.48.
    factors, rows = neutralize(params(2020), [fx("11.25"), fx("11.26")], [100_000, 100_000], 0, CFR_MAXIMUM)
    assert (factors.scaling, factors.status) == (Fraction(0), NO_POSITIVE)
    assert rows["adjustment"].tolist() == [-9 * ONE, -6_748_000]
    assert rows["cents"]["adjustment"].tolist() == [-9000, -6748]


def test_display_truncates_as_cms_feedback() -> None:
    # CMS's 2020 feedback example: 0.008 % + 1.864 % = 1.872 %, shown 0.00 %, 1.86 %, 1.87 %.
    # Built in 2020: X scores 100 on $112,500 (9 % -> $10,125 before scaling; exceptional 10 % -> $11,250);
    # Y scores 0 on $100 (-$9). SF = 9/10125 = 1/1125, so X's adjustment is 9/1125 = 0.008 %; a pool of $2,097
    # gives SF_x = 2097/11250 = 0.1864, so X's exceptional adjustment is 1.864 %.
    # Negative values (paid $0, no effect on the factors): 38.805 -> -(45 - 38.805)/5 = -1.239 %, and
    # 44.96 -> -0.008 %. Truncation is towards zero: -1.23 % and 0.00 % (a reading: CMS's examples are positive).
    p = params(2020)
    factors, rows = neutralize(p, [fx("100"), 0, fx("38.805"), fx("44.96")], [11_250_000, 10_000, 0, 0], 209_700,
                               CFR_MAXIMUM)
    assert (factors.scaling, factors.exceptional) == (Fraction(1, 1125), Fraction(1864, 10_000))
    assert rows["adjustment"].tolist() == [8000, -9 * ONE, -1_239_000, -8000]
    assert rows["exceptional"].tolist() == [1_864_000, 0, 0, 0]
    assert rows["total"].tolist() == [1_872_000, -9 * ONE, -1_239_000, -8000]
    assert rows["display"]["adjustment"].tolist() == [0, -9 * ONE, -1_230_000, 0]
    assert rows["display"]["exceptional"].tolist() == [1_860_000, 0, 0, 0]
    assert rows["display"]["total"].tolist() == [1_870_000, -9 * ONE, -1_230_000, 0]
    # Dollars: X's increase equals Y's $9.00 decrease; its exceptional adjustment is the whole pool.
    assert rows["cents"]["adjustment"].tolist() == [900, -900, 0, 0]
    assert rows["cents"]["exceptional"].tolist() == [209_700, 0, 0, 0]


def _population(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Final scores on a 0.01 grid (a tenth at exactly 45) and paid amounts up to $500,000, plus two rows paid
    about $40 billion (one far below the threshold, one far above), whose products overflow int64."""
    rng = np.random.default_rng(seed)
    score = rng.integers(0, 10_001, n) * 10_000
    score[rng.random(n) < 0.1] = 45 * ONE
    paid = rng.integers(0, 50_000_000, n)
    paid[rng.random(n) < 0.02] = 0
    score[:2] = [fx("5"), fx("95")]
    paid[:2] = [4 * 10**12, 4 * 10**12 + 12_345]
    return score, paid


def test_generated_population_balances_to_the_cent_and_chunks_combine() -> None:
    p = params(2020)
    score, paid = _population(2020, 100_000)
    pool = 123_456_789  # $1,234,567.89
    factors, rows = neutralize(p, score, paid, pool, CFR_MAXIMUM)
    assert factors.status == BALANCED and factors.exceptional_status == POOLED

    # The factors from the exact sums, here in plain Python integers.
    before = rows["adjustment_before_scaling"].tolist()
    negative = sum(c * -a for c, a in zip(paid.tolist(), before, strict=True) if a < 0)
    positive = sum(c * a for c, a in zip(paid.tolist(), before, strict=True) if a > 0)
    exceptional = sum(c * e for c, e in zip(paid.tolist(), rows["exceptional_before_scaling"].tolist(), strict=True))
    assert negative > 2**63 and positive > 2**63  # beyond int64
    assert factors.scaling == Fraction(negative, positive)
    assert factors.exceptional == Fraction(pool * 100 * ONE, exceptional)

    # Budget neutrality from the per-row dollars: increases = decreases, to the cent.
    cents = rows["cents"]["adjustment"]
    assert abs(int(cents[cents > 0].sum()) + int(cents[cents < 0].sum())) < 1
    assert int(rows["cents"]["exceptional"].sum()) == pool
    # Each decrease is paid x |adjustment| / 100 rounded half up; each increase is within a cent of its exact share.
    unit = 100 * ONE
    for c, a, got in zip(paid.tolist(), before, cents.tolist(), strict=True):
        if a < 0:
            assert got == -((2 * c * -a + unit) // (2 * unit))
        elif a > 0:
            assert abs(Fraction(got) - Fraction(factors.increase_cents * c * a, positive)) < 1

    # Four partitions: their sums combine to the one-pass factors, and row by row the same results.
    chunks = np.array_split(np.arange(len(score)), 4)
    parts = [partial_sums(p, score[c], paid[c]) for c in chunks]
    assert combine(parts) == factors.sums
    assert solve(p, combine(parts), pool, CFR_MAXIMUM) == factors
    pieces = [apply(p, score[c], paid[c], factors, combine(parts[:k])) for k, c in enumerate(chunks)]
    for key in ("adjustment", "exceptional", "total"):
        assert np.array_equal(np.concatenate([piece[key] for piece in pieces]), rows[key])
        assert np.array_equal(np.concatenate([piece["cents"][key] for piece in pieces]), rows["cents"][key])
