"""Promoting Interoperability (``measure_points``) and Advancing Care Information (``base_performance_bonus``)
nodes, from the PI and ACI kernels' outputs and the entity's PI columns."""

from __future__ import annotations

from typing import Any

from engine.scoring.kernels import aci as a
from engine.scoring.kernels import pi as k
from engine.scoring.nodes import Build, CategoryPart

ZERO_REASONS = {  # zero_reason -> (reason code, rules)
    k.NOT_SUBMITTED: ("not_submitted", ["pi.allowed_entity_types"]),
    k.NO_CEHRT_ID: ("no_cehrt_id", ["pi.cehrt_id_required"]),
    k.ATTESTATION_MISSING: ("attestation_missing", ["pi.required_attestations"]),
    k.ATTESTATION_NO: ("attestation_no", ["pi.required_attestations"]),
    k.ANSWER_MISSING: ("answer_missing", ["pi.required_answers"]),
    k.SUBSTITUTE_NO: ("substitute_answered_no", ["pi.substitute_answered_no", "pi.measures"]),
    k.PUBLIC_HEALTH_MISSING: ("public_health_missing", ["pi.public_health"]),
    k.MEASURE_MISSING: ("measure_missing", ["pi.measures"]),
    k.MEASURE_NO: ("measure_no", ["pi.measures"]),
    k.NUMERATOR_ZERO: ("numerator_zero", ["pi.measures"]),
}
MEASURE_ZERO = (k.MEASURE_MISSING, k.MEASURE_NO, k.NUMERATOR_ZERO)


def _zero_inputs(b: Build, p: k.PiParams, out: dict[str, Any], e: dict[str, Any]) -> dict[str, Any]:
    subject = p.ids[out["zero_subject"]] if out["zero_subject"] >= 0 else None
    if out["zero_reason"] == k.NO_CEHRT_ID:
        return {"sets": e["cehrt_missing_sets"]}
    if out["zero_reason"] == k.SUBSTITUTE_NO:
        spec = next(m for m in p.measures if m.id == subject)
        return {"measure": subject, "replaces": list(spec.substitutes)}
    return {"measure": subject} if subject else {}


def _health(b: Build, p: k.PiParams, out: dict[str, Any], e: dict[str, Any]) -> None:
    yes = [m for m in p.health_measures if e[f"{m}:yes"]]
    b.trace.add("pi.measures.public_health", b.d(out["public_health"]), ["pi.public_health"],
                {"yes": yes, "exclusions": [m for m in p.health_exclusions if e[f"{m}:yes"]]}, "registries")
    if out["public_health_bonus"]:
        b.trace.add("pi.measures.public_health_bonus", b.d(out["public_health_bonus"]), ["pi.public_health"],
                    {"yes": [m for m in p.bonus_any_measures if e[f"{m}:yes"]]}, "public_health_bonus")


def _measure(b: Build, p: k.PiParams, m: k.PiMeasure, out: dict[str, Any], e: dict[str, Any],
             claimed: list[str]) -> dict[str, Any] | None:
    """One measure's node and detail entry (None: not reported, no node)."""
    status, points, available = out[f"{m.id}:status"], b.d(out[f"{m.id}:points"]), b.d(out[f"{m.id}:available"])
    node = f"pi.measures.{m.id}"
    if status == k.SUBSTITUTED:
        by = p.ids[out[f"{m.id}:substituted_by"]]
        b.trace.add(node, points, ["pi.measures"], {"by": by}, "substituted")
        return {"id": m.id, "substituted_by": by, "points": points}
    if status == k.EXCLUDED:
        b.trace.add(node, points, ["pi.exclusions"], {}, "excluded")
        return {"id": m.id, "excluded": True, "points": points}
    if status in (k.YES, k.NO):
        answer = status == k.YES
        b.trace.add(node, points, ["pi.measures"], {"answer": answer}, "yes" if answer else "no")
        return {"id": m.id, "answer": answer, "available": available, "points": points, "path": e[f"{m.id}:path"]}
    if status in (k.RATE, k.RATE_MINIMUM):
        num, den = e[f"{m.id}:num"], e[f"{m.id}:den"]
        rules = ["pi.measures", "pi.rounding"] + (["pi.exclusions"] if claimed else [])
        if m.id == p.all_excluded_to and out["public_health_excluded"] and not out["public_health_yes"]:
            rules.append("pi.public_health")  # the public health objective's points, moved here
        inputs: dict[str, Any] = {"numerator": num, "denominator": den, "available": available,
                                  "exact": b.ratio(num * out[f"{m.id}:available"], den * b.precision.one) if den else 0,
                                  "rounding": b.book.value("pi.rounding")}
        if status == k.RATE_MINIMUM:
            rules.append("pi.minimum_points_with_numerator")
            inputs["minimum"] = b.d(p.minimum)
        b.trace.add(node, points, rules, inputs, "rate_minimum" if status == k.RATE_MINIMUM else "rate")
        return {"id": m.id, "numerator": num, "denominator": den, "available": available, "points": points,
                "path": e[f"{m.id}:path"]}
    return None


def build_pi(b: Build, name: str, out: dict[str, Any], e: dict[str, Any], p: k.PiParams) -> CategoryPart:
    reason = out["zero_reason"]
    detail: dict[str, Any] = {"measures": []}
    if reason == k.NOT_SUBMITTED:
        b.trace.add("pi.score", 0, ["pi.allowed_entity_types"], {}, "not_submitted")
        return CategoryPart(0, False, detail)
    if reason in (k.NONE, *MEASURE_ZERO):
        _health(b, p, out, e)
        claimed = [x.id for x in p.exclusions if out[f"{x.id}:claimed"]]
        for m in p.measures:
            if out[f"{m.id}:status"] == k.NOT_REACHED or (reason in MEASURE_ZERO and p.ids[out["zero_subject"]] == m.id):
                break
            entry = _measure(b, p, m, out, e, claimed)
            if entry:
                detail["measures"].append(entry)
    if reason != k.NONE:
        code, rules = ZERO_REASONS[reason]
        b.trace.add("pi.score", 0, rules, _zero_inputs(b, p, out, e), code)
        return CategoryPart(0, True, {**detail, "zero_reason": code})
    for measure, _ in p.bonus:
        if out[f"{measure}:status"] == k.YES:
            points = b.d(out[f"{measure}:points"])
            b.trace.add(f"pi.measures.{measure}", points, ["pi.bonus_measures"], {}, "bonus")
            detail["measures"].append({"id": measure, "bonus": True, "points": points})
    percent, total = b.d(out["percent"]), b.d(out["points"])
    detail.update({"public_health": b.d(out["public_health"] + out["public_health_bonus"]),
                   "exclusions": claimed, "points": total})
    b.trace.add("pi.score", percent, ["pi.maximum_points"], {"points": total, "maximum": b.d(p.maximum)}, "points")
    return CategoryPart(percent, True, detail)


ACI_ZERO = {a.NOT_SUBMITTED: ("not_submitted", ["pi.allowed_entity_types"]),
            a.ATTESTATION_MISSING: ("attestation_missing", ["pi.required_attestations"]),
            a.ATTESTATION_NO: ("attestation_no", ["pi.required_attestations"]),
            a.NO_SET: ("no_set", ["pi.transition_set_marker"])}


def build_aci(b: Build, name: str, out: dict[str, Any], e: dict[str, Any], p: a.AciParams) -> CategoryPart:
    reason = out["zero_reason"]
    if reason in ACI_ZERO:
        code, rules = ACI_ZERO[reason]
        subject = {"measure": p.ids[out["zero_subject"]]} if out["zero_subject"] >= 0 else {}
        b.trace.add("pi.score", 0, rules, subject, code)
        detail: dict[str, Any] = {"measures": []}
        if reason in (a.ATTESTATION_MISSING, a.ATTESTATION_NO):
            detail["zero_reason"] = code
        return CategoryPart(0, reason != a.NOT_SUBMITTED, detail)
    set_name, members = p.sets[out["set"]]
    measures = []
    for m in members:
        if not (m.performance and out.get(f"{m.id}:listed")):
            continue
        points, weight = b.d(out[f"{m.id}:points"]), b.d(m.weight)
        if e[f"{m.id}:rate"]:
            inputs: dict[str, Any] = {"numerator": e[f"{m.id}:num"], "denominator": e[f"{m.id}:den"],
                                      "decile": out[f"{m.id}:decile"], "weight": weight}
            code = "decile"
        else:
            inputs, code = {"weight": weight}, "yes" if e[f"{m.id}:yes"] else "no"
        b.trace.add(f"pi.measures.{m.id}", points, ["pi.performance_points"], inputs, code)
        measures.append({"id": m.id, "points": points})
    missing = [m.id for m in members if m.required and out.get(f"{m.id}:missing")]
    base, performance, bonus = b.d(out["base"]), b.d(out["performance"]), b.d(out["bonus"])
    b.trace.add("pi.base", base, ["pi.base_score", "pi.base_exclusions"], {"missing": missing},
                "base_not_earned" if missing else "base_earned")
    b.trace.add("pi.bonus", bonus, ["pi.registry_bonus", "pi.cehrt_bonus"],
                {"registry": bool(out["registry_bonus"]), "cehrt": bool(out["cehrt_bonus"])}, "bonus")
    percent = b.d(out["percent"])
    b.trace.add("pi.score", percent, ["pi.maximum_points", "pi.set_choice", "pi.transition_set_marker", "pi.common_categories"],
                {"set": set_name, "base": base, "performance": performance, "bonus": bonus, "maximum": b.d(p.maximum)},
                "base_not_earned" if missing else "set_total")
    return CategoryPart(percent, True, {"set": set_name, "base": base, "performance": performance, "bonus": bonus,
                                        "missing": missing, "measures": measures})
