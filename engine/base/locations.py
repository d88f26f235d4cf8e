"""Where the engine's shipped data lives: the repository top in a checkout, the package in a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """The folder holding ``rules/``, ``schemas/`` and ``reports/``."""
    shipped = _PACKAGE / "_data"
    if (shipped / "rules").is_dir():
        return shipped
    return _PACKAGE.parent


def inside_installed_package(path: Path) -> bool:
    """Whether ``path`` lies in the data installed with the package (edits there are lost on reinstall)."""
    return (_PACKAGE / "_data") in path.resolve().parents


def rules_dir() -> Path:
    return data_root() / "rules"


def schemas_dir() -> Path:
    return data_root() / "schemas"


def reports_dir() -> Path:
    return data_root() / "reports"


def available_years() -> list[int]:
    """Years that have a rulebook folder."""
    return sorted(int(p.name) for p in rules_dir().iterdir() if p.is_dir() and _is_year(p.name))


def _is_year(text: str) -> bool:
    return text.isascii() and text.isdigit()


def rulebook_path(year_or_path: str | int | Path) -> Path:
    """Resolve a year (ASCII digits) to its shipped rulebook folder, or take a path to a rulebook folder as is."""
    text = str(year_or_path)
    if _is_year(text):
        return rules_dir() / text
    return Path(text)
