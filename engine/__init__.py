"""A rules-as-data engine for Medicare's Merit-based Incentive Payment System (MIPS).

    from engine import score, explain
    result = score("submission.json")  # the submission's own year
    print(explain(result))
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import explain, load, score  # noqa: E402

__all__ = ["__version__", "explain", "load", "score"]
