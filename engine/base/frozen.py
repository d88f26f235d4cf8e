"""Deep-frozen containers: a compiled rulebook is shared by every run, so nothing may change it."""

from __future__ import annotations

from typing import Any, NoReturn


class FrozenDict(dict):
    """A dict that refuses every change after it is built (and still pickles and compares as a dict)."""

    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        raise TypeError("a compiled rulebook's values cannot be changed; use a what-if (--set) instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=repr)))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


def freeze(value: Any) -> Any:
    """Dicts become FrozenDicts and lists tuples, recursively; scalars are returned as they are."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value
