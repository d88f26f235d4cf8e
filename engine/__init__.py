"""A rules-as-data engine for Medicare's Merit-based Incentive Payment System (MIPS).

    from engine import score, explain
    result = score("submission.json")  # the submission's own year
    print(explain(result))
"""

from __future__ import annotations

from engine._version import __version__
from engine.interfaces.api import explain, load, score, score_many

__all__ = ["__version__", "explain", "load", "score", "score_many"]
