"""One-line description of the machine a benchmark ran on, for benchmark reports."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
CPU_KEYS = ("model name", "Model", "Hardware", "cpu model", "cpu")


def cpu_model() -> str:
    """CPU model from /proc/cpuinfo (x86 ``model name``, or the ARM/other equivalents), else ``platform``'s guess."""
    try:
        fields = dict(line.split(":", 1) for line in CPUINFO.read_text().splitlines() if ":" in line)
    except OSError:
        fields = {}
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    for key in CPU_KEYS:
        if fields.get(key):
            return fields[key]
    return platform.processor() or platform.machine() or "unknown CPU"


def core_count() -> str:
    """Logical cores, with the number this process may use when affinity limits it."""
    total = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else total
    return f"{total} cores" if usable == total else f"{total} cores ({usable} usable)"


def package_version(name: str) -> str:
    """Installed version of a distribution, without importing it."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> str:
    """E.g. ``AMD EPYC | 2 cores | Python 3.11.7 | numpy 2.4.6 | OPENBLAS_CORETYPE unset``."""
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    openblas = f"OPENBLAS_CORETYPE={coretype}" if coretype is not None else "OPENBLAS_CORETYPE unset"
    return " | ".join([cpu_model(), core_count(), f"Python {platform.python_version()}",
                       f"numpy {package_version('numpy')}", openblas])


if __name__ == "__main__":
    print(describe())
