"""The text model's suggestion at intake, staff accepting or changing it, and the optional
route straight to the predicted level.

``record_at_intake`` runs inside ``case_open`` for every channel (staff form, e-mail,
portal, API, monitoring). Staff who saw the suggestion on the intake form decide there:
what they chose is compared with it and recorded. Other channels leave it pending until
someone accepts or changes it on the case page (``case_classify``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from escalations.domain import authority
from escalations.intelligence import routing
from escalations.intelligence.text import predict
from escalations.models import Case, CaseSuggestion, Category, Escalation, Level, Priority, SuggestionDecision
from escalations.selectors import paths
from escalations.workflow import notices
from escalations.workflow.actors import Actor, is_system, may, system_actor
from escalations.workflow.base import InvalidAction, NotAllowed, action, lock_case, run, save, save_case
from escalations.workflow.ladder import Handoff, escalation_notice, plan_escalation


def _pct(p: float | None) -> str:
    return f"{round(100 * p)} %" if p is not None else "-"


def _decide(s: CaseSuggestion, category_id: int | None, priority: int, actor: Actor, now: datetime) -> None:
    s.category_accepted = None if s.category_id is None else category_id == s.category_id
    s.priority_accepted = None if s.priority is None else priority == s.priority
    verdicts = [v for v in (s.category_accepted, s.priority_accepted) if v is not None]
    s.decision = SuggestionDecision.ACCEPTED if all(verdicts) else SuggestionDecision.CHANGED
    s.decided_by, s.decided_at = actor, now


def record_at_intake(case: Case, actor: Actor, now: datetime, *, seen: bool = False) -> CaseSuggestion | None:
    """Store the suggestion for a just-saved case (none without an active model or text);
    ``seen``: the person opening it saw the suggestion and chose with it in view."""
    model_id, preds = predict.suggest(case.title, case.description)
    if not preds:
        return None
    cat, pri, lvl = preds.get("category"), preds.get("priority"), preds.get("level")
    categories = set(Category.objects.filter(pk__in=[cat.label] if cat else []).values_list("pk", flat=True))
    levels = {lv.pk: lv for lv in Level.objects.filter(pk__in=[lvl.label] if lvl else [])}
    s = CaseSuggestion(
        case=case,
        model_id=model_id,
        category_id=cat.label if cat and cat.label in categories else None,
        category_confidence=cat.confidence if cat and cat.label in categories else None,
        priority=pri.label if pri and pri.label in Priority.values else None,
        priority_confidence=pri.confidence if pri and pri.label in Priority.values else None,
        level=levels.get(lvl.label) if lvl else None,
        level_confidence=lvl.confidence if lvl and lvl.label in levels else None,
        words={t: p.words for t, p in preds.items()},
        created_at=now,
    )
    if s.category_id is None and s.priority is None and s.level is None:
        return None  # the model's classes are gone (a category deleted since training)
    if seen and not is_system(actor):
        _decide(s, case.category_id, case.priority, actor, now)
    save(s, actor, f"Text model suggestion: {describe(s)}")
    return s


def describe(s: CaseSuggestion) -> str:
    parts = []
    if s.category_id:
        parts.append(f"category {s.category.name} ({_pct(s.category_confidence)})")
    if s.priority:
        parts.append(f"P{s.priority} ({_pct(s.priority_confidence)})")
    if s.level_id:
        parts.append(f"resolved at {s.level.code} ({_pct(s.level_confidence)})")
    return ", ".join(parts)


def route_at_intake(case: Case, s: CaseSuggestion | None, now: datetime) -> Escalation | None:
    """Under a routing policy with "route straight to the predicted level": a case the model
    is confident will be resolved above its first step goes there now, with an automatic
    handoff saying why, recorded as a skip of the first level (``Escalation.justification``)."""
    policy = routing.active_policy()
    if s is None or policy is None or not policy.route_to_predicted_level or s.level is None:
        return None
    if (s.level_confidence or 0) < policy.predicted_level_confidence or s.level.rank <= case.level.rank:
        return None
    if not any(level.pk == s.level_id for level, _team in paths.steps_of(case.path_id)) and case.path_id:
        return None  # the case's path never reaches that level
    desk = system_actor()
    why = (
        f"The text model expects this case to be resolved at {s.level.code} ({_pct(s.level_confidence)} confident, "
        f"threshold {_pct(policy.predicted_level_confidence)}; words: {', '.join(s.words.get('level', [])) or '-'})."
    )
    skipped = case.level.code
    esc = plan_escalation(
        case,
        actor=desk,
        handoff=Handoff(
            summary=f"Routed straight to {s.level.code} at intake: {case.title}",
            steps_tried=f"Nothing at {skipped}: the routing policy '{policy.name}' sends such cases straight on.",
            customer_impact=f"P{case.priority}; as reported by the requester.",
        ),
        now=now,
        to_level=s.level,
        justification=f"Skipped {skipped} at intake. {why}",
    )
    esc.reason = f"Routed at intake by the text model (policy '{policy.name}'); {skipped} skipped"
    save_case(case, desk, f"Routed straight to {s.level.code} at intake, skipping {skipped}: {why}", now)
    save(esc, desk, f"Handoff {esc.from_level.code} -> {esc.to_level.code} (text model, at intake)")
    s.routed = True
    save(s, desk, f"Routed straight to {s.level.code}")
    recipients, _who = notices.escalation_recipients(case, esc)
    notices.queue(case, escalation_notice(case, esc), recipients, key=f"escalated:{esc.pk}")
    return esc


def pending(case: Case) -> CaseSuggestion | None:
    s = CaseSuggestion.objects.filter(case=case).select_related("category", "level").first()
    return s if s is not None and s.decision == SuggestionDecision.PENDING else None


@action("classify")
def case_classify(
    *, case_id: int, actor: Actor, category: Category, priority: int, version: int | None = None
) -> CaseSuggestion:
    """Accept or change the suggestion a case got at intake (e-mail, portal, API): the case
    takes the chosen category and priority (a priority change recomputes the SLA), and the
    choice is recorded against the suggestion, so its accuracy can be measured."""
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        priority = 0
    if priority not in Priority.values:
        raise InvalidAction("Choose a priority from P1 to P4.", {"priority": "Choose P1, P2, P3 or P4."})
    if not isinstance(category, Category):
        raise InvalidAction("Choose a category.", {"category": "Choose a category."})
    with transaction.atomic():
        case = lock_case(case_id, version)
        if not may(actor, authority.can_work, case):
            raise NotAllowed(f"You may not work case #{case.pk} at {case.level.code}.")
        s = CaseSuggestion.objects.select_for_update().filter(case=case).first()
        if s is None or s.decision != SuggestionDecision.PENDING:
            raise InvalidAction(f"Case #{case.pk} has no suggestion waiting for a decision.")
        now = timezone.now()
        _decide(s, category.pk, priority, actor, now)
        changes = []
        if category.pk != case.category_id:
            changes.append(f"category {case.category.name} -> {category.name}")
            case.category = category
        sla_why = ""
        if priority != case.priority:
            changes.append(f"priority P{case.priority} -> P{priority}")
            sla_why = f"priority P{case.priority}→P{priority} by {actor}: classified at intake"
            run(case, "change_priority", actor, priority, now)
        verdict = "accepted" if s.decision == SuggestionDecision.ACCEPTED else "changed"
        what = "; ".join(changes) or "category and priority kept"
        save_case(case, actor, f"Classified ({verdict} the text model's suggestion): {what}", now, sla_why=sla_why)
        save(s, actor, f"Suggestion {verdict} by {actor}")
    return s
