"""CMS reference data (measures, activities, benchmarks) as imported into a rulebook folder."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.base.numbers import decimal


@dataclass(frozen=True)
class Benchmark:
    measure_id: str
    method: str
    benchmark_year: int | None
    deciles: tuple[Decimal, ...]
    topped_out: bool
    topped_out_by_program: bool


@dataclass
class Reference:
    """Measure metadata and benchmarks for one performance year, with their source."""

    performance_year: int
    source: dict[str, Any]
    quality: dict[str, dict]
    ia: dict[str, dict]
    pi: dict[str, dict]
    cost: dict[str, dict]
    benchmarks: dict[str, dict]

    def benchmark(self, measure_id: str, method: str) -> Benchmark | None:
        record = self.benchmarks.get(f"{measure_id}|{method}")
        if record is None:
            return None
        return Benchmark(
            measure_id, method, record.get("benchmarkYear"),
            tuple(decimal(d) for d in record["deciles"]),
            bool(record.get("isToppedOut")), bool(record.get("isToppedOutByProgram")),
        )

    def describe(self) -> dict[str, Any]:
        """Source, version and checksums, as recorded in every result."""
        return {
            "repository": self.source.get("repository"),
            "version": self.source.get("version"),
            "commit": self.source.get("commit"),
            "files": {k: v.get("sha256") for k, v in self.source.get("files", {}).items()},
        }


def load_reference(doc: dict[str, Any]) -> Reference:
    pi = doc.get("pi") or doc.get("aci") or {}
    return Reference(doc["performanceYear"], doc["source"], doc.get("quality", {}), doc.get("ia", {}),
                     pi, doc.get("cost", {}), doc.get("benchmarks", {}))
