"""The group steps of one entity (Python lists) and of a batch (numpy columns) give the same results."""

from __future__ import annotations

import random

import numpy as np

from engine.scoring.frame import Batch, OneEntity

MEASURES = ["001", "113", "320", "236", "ACRad33"]


def test_group_steps_agree_on_random_batches() -> None:
    rng = random.Random(1)
    for _ in range(300):
        entities = rng.randint(1, 6)
        rows = [(e, rng.randint(0, 5), rng.choice(MEASURES), rng.random() < 0.6, rng.randint(-2**61, 2**61))
                for e in range(entities) for _ in range(rng.randint(0, 6))]
        if not rows:
            continue
        entity, points, measure, mask, big = (np.array(c) for c in zip(*rows, strict=True))
        batch = Batch({"p": points, "m": measure, "k": mask, "b": big}, entity, entities)
        keys = [-batch["p"], batch["m"]]
        wide = [batch["b"], -batch["p"]]  # too wide to pack into one int64 key: the plain lexsort is used
        ranked, first = batch.rank_among(keys, batch["k"]), batch.within_key(batch["m"], keys, batch["k"])
        totals, wide_rank = batch.sum(batch["p"]), batch.rank_among(wide, batch["k"])
        for e in range(entities):
            own = batch.entity == e
            one = OneEntity({"p": batch["p"][own].tolist(), "m": batch["m"][own].tolist(),
                             "k": batch["k"][own].tolist(), "b": batch["b"][own].tolist()})
            one_keys = [[-x for x in one["p"]], one["m"]]
            assert one.rank_among(one_keys, one["k"]) == ranked[own].tolist()
            assert one.within_key(one["m"], one_keys, one["k"]) == first[own].tolist()
            assert one.sum(one["p"]) == totals[e]
            assert one.rank_among([one["b"], [-x for x in one["p"]]], one["k"]) == wide_rank[own].tolist()


def test_ranks_by_hand() -> None:
    # One entity's measures 113 and 320 tie at 3 points: ties by measure ID, so 113 ranks before 320.
    one = OneEntity({"p": [3, 8, 3], "m": ["320", "236", "113"]})
    assert one.rank_among([[-x for x in one["p"]], one["m"]], [True, True, True]) == [2, 0, 1]
