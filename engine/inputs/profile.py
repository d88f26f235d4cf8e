"""Clinician profiles: the facts CMS knows about a clinician that a submission does not carry.

A profile file is YAML or JSON read as plain data only: before anything is built from it, it is refused at its line
and column if it holds an alias (a profile has no use for one, and an alias bomb is made of them), a tag other than
those of plain data (``!!python/...``, ``!!binary``, a date), a merge key, a key that is not text or is given twice,
nesting deeper than ``MAX_DEPTH`` or more than ``MAX_VALUES`` values. A profile given as a dict gets the same
checks of its values (finite numbers within ±2**53, text keys, the same bounds).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import yaml

from engine.base.errors import Location, ProfileError
from engine.base.numbers import brief, excerpt
from engine.base.reading import read_text
from engine.base.schemas import schema_errors
from engine.base.yamlsource import pointer_join
from engine.inputs.submission import MAX_DEPTH, path_argument, plain_problem

MAX_BYTES = 1 << 20  # a profile is a few hundred bytes, an Eligibility API response a few kilobytes
MAX_VALUES = 10_000
MAX_ITEMS = 500  # of one list or mapping
MAX_NUMBER_TEXT = 40  # characters of one number as written
PERCENT_DECIMALS = 4  # of a percent the profile gives; scoring carries 6 (a rulebook's precision), CMS gives at most 4
PERCENT_FACTS = (("facilityBased", "qualityScore"), ("priorYearQuality", "achievementPercent"))

# Eligibility API fields that carry over to the profile unchanged, and those renamed.
_SCENARIO_KEYS = ("smallGroupPractitioner", "ruralClinician", "hpsaClinician", "nonPatientFacing",
                  "hospitalBasedClinician", "ambulatorySurgicalCenter")
_RENAMED = {"aciHardship": "piHardship"}
# Facts the response states but cannot give as scoring needs them: the user must supply them.
_NEEDS_DETAIL = {
    "isFacilityBased": "facilityBased.qualityScore (the quality score CMS mapped from the facility's "
                       "Hospital VBP percentile; the response gives only the VBP score)",
    "extremeHardship": "eucApproved (the categories the approved extreme and uncontrollable circumstances "
                       "application reweights)",
}
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when libyaml is there


class _Refused(Exception):
    """A YAML node the checks refuse: why, and the node to locate it by."""

    def __init__(self, message: str, node: yaml.Node, hint: str | None = None):
        super().__init__(message)
        self.message, self.node, self.hint = message, node, hint


def _kind(value: Any) -> str:
    return {dict: "a mapping", str: "text", list: "a list", bool: "true/false", type(None): "null"}.get(type(value), "a number")


def _check_mapping(node: yaml.MappingNode) -> None:
    keys: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != f"{_TAG}str":
            shown = excerpt(key_node.value) if isinstance(key_node, yaml.ScalarNode) else f"a {key_node.id}"
            raise _Refused(f"a key must be text, not {shown}", key_node, "quote it if it is meant as text")
        if key_node.value in keys:
            raise _Refused(f"the key {excerpt(key_node.value)} is given twice", key_node, "keep one")
        keys.add(key_node.value)


def _check_node(loader: Any, node: yaml.Node) -> None:
    """One node's own checks: its tag, its keys, its number."""
    if node.tag not in _PLAIN_TAGS:
        what = "a merge key (<<)" if node.tag == f"{_TAG}merge" else f"the tag {excerpt(node.tag.replace(_TAG, '!!'))}"
        raise _Refused(f"{what} is not allowed in a profile (only text, numbers, true/false, null, lists and mappings)",
                       node, "quote a value meant as text, such as a date")
    if isinstance(node, yaml.MappingNode):
        _check_mapping(node)
    elif node.tag in (f"{_TAG}int", f"{_TAG}float"):
        if len(node.value) > MAX_NUMBER_TEXT:
            raise _Refused(f"a number written with {len(node.value):,} characters; at most {MAX_NUMBER_TEXT} are read",
                           node)
        try:
            loader.construct_object(node)
        except ValueError:
            raise _Refused(f"{excerpt(node.value)} is not a number", node) from None


def _check_nodes(loader: Any, root: yaml.Node) -> None:
    """Check every node before any value is built: each one once, since a node met twice is an alias."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            raise _Refused("this value is repeated by an alias (*name); a profile reads no aliases", node,
                           "write the value out where the alias is")
        seen.add(id(node))
        if depth > MAX_DEPTH or len(seen) > MAX_VALUES:
            raise _Refused(f"values nest more than {MAX_DEPTH} levels deep" if depth > MAX_DEPTH
                           else f"more than {MAX_VALUES:,} values; at most that many are read", node)
        _check_node(loader, node)
        if isinstance(node, yaml.MappingNode):
            stack.extend((child, depth + 1) for pair in reversed(node.value) for child in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))


def parse_profile_text(text: str, name: str) -> Any:
    """A profile's YAML or JSON text as plain data (None for an empty file); ProfileError at the line and column of
    anything else."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_nodes(loader, node)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        raise ProfileError(where, f"not valid YAML or JSON: {brief(str(exc.problem or exc.context), 120)}") from None
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        where = Location(name, text.count("\n", 0, position) + 1) if isinstance(position, int) else Location(name)
        raise ProfileError(where, f"not valid YAML or JSON: {brief(str(exc).splitlines()[0], 120)}") from None
    except _Refused as exc:
        mark = exc.node.start_mark
        raise ProfileError(Location(name, mark.line + 1, mark.column + 1), exc.message, exc.hint) from None
    except RecursionError:  # the pure-Python composer (without libyaml, which stops at 1,000 levels) recurses
        raise ProfileError(Location(name), f"not a profile: values nest more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def _scenario(organization: Any, name: str) -> dict:
    """The organization's individual scenario, else its group scenario (an empty one when it has neither)."""
    pointer = "/data/organizations/0"
    if not isinstance(organization, dict):
        raise ProfileError(Location(name, pointer=pointer), f"expected an organization object, found {_kind(organization)}")
    key = "individualScenario" if organization.get("individualScenario") else "groupScenario"
    scenario = organization.get(key) or {}
    if not isinstance(scenario, dict):
        raise ProfileError(Location(name, pointer=f"{pointer}/{key}"), f"expected a scenario object, found {_kind(scenario)}")
    for fact, needed in _NEEDS_DETAIL.items():
        if scenario.get(fact) is True:
            raise ProfileError(Location(name, pointer=f"{pointer}/{key}/{fact}"),
                               f"{fact} is true, which scoring needs in more detail", f"write a profile file with {needed}")
    return scenario


def _from_eligibility_response(doc: dict, name: str) -> dict:
    """The first organization's scenario of a QPP Eligibility API response, in profile names."""
    organizations = doc["data"]["organizations"]
    if not isinstance(organizations, list):
        raise ProfileError(Location(name, pointer="/data/organizations"),
                           f"expected a list of organizations, found {_kind(organizations)}")
    if not organizations:
        raise ProfileError(Location(name, pointer="/data/organizations"), "the eligibility response lists no organization")
    scenario = _scenario(organizations[0], name)
    profile = {k: scenario[k] for k in _SCENARIO_KEYS if isinstance(scenario.get(k), bool)}
    profile.update({new: scenario[old] for old, new in _RENAMED.items() if isinstance(scenario.get(old), bool)})
    return profile


def load_profile(path: Any) -> dict[str, Any]:
    """Read a profile YAML/JSON file (the project's format, or an Eligibility API response); None is no profile."""
    if path is None:
        return {}
    name = path_argument(path, ProfileError, "profile")
    doc = parse_profile_text(read_text(name, ProfileError, "profile", MAX_BYTES), name)
    return check_profile({} if doc is None else doc, name)


def check_profile(doc: Any, name: str = "<profile>") -> dict[str, Any]:
    """The profile as plain data, checked against its schema; ProfileError at the first problem."""
    problem = plain_problem(doc, MAX_VALUES, MAX_ITEMS)
    if problem:
        message, parts = problem
        pointer = ""
        for part in parts:
            pointer = pointer_join(pointer, part)
        raise ProfileError(Location(name, pointer=pointer), f"not a profile: {message}")
    if not isinstance(doc, dict):
        raise ProfileError(Location(name), f"not a profile: expected a mapping of facts, found {_kind(doc)}",
                           "see schemas/profile.schema.json")
    if isinstance(doc.get("data"), dict) and "organizations" in doc["data"]:
        doc = _from_eligibility_response(doc, name)
    problems = schema_errors("profile.schema.json", doc)
    if problems:
        message, hint, pointer = problems[0]
        raise ProfileError(Location(name, pointer=pointer), brief(message), hint)
    for parent, key in PERCENT_FACTS:
        value = doc.get(parent, {}).get(key)
        if value is not None and Decimal(str(value)) * 10**PERCENT_DECIMALS % 1:
            raise ProfileError(Location(name, pointer=f"/{parent}/{key}"),
                               f"{value} has more than {PERCENT_DECIMALS} decimals; a percent is read to {PERCENT_DECIMALS}")
    copied: dict[str, Any] = json.loads(json.dumps(doc))
    return copied
