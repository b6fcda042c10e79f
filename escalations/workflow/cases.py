"""Everyday actions on a case: intake, assignment, notes, pauses, resolution, closure."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from escalations.core import config_cache
from escalations.domain import authority, clock, portal_links, requester_links
from escalations.intelligence import routing, scoring
from escalations.models import (
    Case,
    CaseStatus,
    Category,
    Complexity,
    CustomerTier,
    KnowledgeArticle,
    Level,
    Note,
    NoteKind,
    SlaPolicy,
    Team,
    WaitKind,
)
from escalations.selectors import paths
from escalations.workflow import approvals, following, major, notices, suggestions, waits
from escalations.workflow.actors import Actor, is_system, may
from escalations.workflow.attachments import attach_files, check_files
from escalations.workflow.base import (
    InvalidAction,
    NotAllowed,
    action,
    as_id,
    lock_case,
    require,
    run,
    save,
    save_case,
)


@action("open")
def case_open(
    *,
    actor: Actor,
    title: str,
    requester_name: str,
    requester_email: str,
    category: Category,
    impact: int,
    urgency: int,
    description: str = "",
    complexity: str = Complexity.MEDIUM,
    customer_tier: str = CustomerTier.STANDARD,
    team: Team | None = None,
    business_impact: int = 0,
    follow_up_of: Case | None = None,
    suggestion_shown: bool = False,
) -> Case:
    """Initial identification: the case starts at the first step of its category's path
    with the policy in force now frozen into it. ``follow_up_of``: the finished case a
    requester wrote to again (``workflow.customer``). The text model's suggestion is stored
    with it (``workflow.suggestions``); ``suggestion_shown``: the person opening it chose the
    category and priority with the suggestion in view, so their choice is its verdict."""
    if not may(actor, lambda user: user.has_perm(authority.PERM_WORK)):
        raise NotAllowed("You may not open cases.")
    errors = {}
    for field, value in (("title", title), ("requester_name", requester_name), ("requester_email", requester_email)):
        if not (value or "").strip():
            errors[field] = "This field is required."
    if impact not in (1, 2, 3):
        errors["impact"] = "Impact must be high (1), medium (2) or low (3)."
    if urgency not in (1, 2, 3):
        errors["urgency"] = "Urgency must be high (1), medium (2) or low (3)."
    if complexity not in Complexity.values:
        errors["complexity"] = f"Complexity must be one of {', '.join(Complexity.values)}."
    if customer_tier not in CustomerTier.values:
        errors["customer_tier"] = f"Customer tier must be one of {', '.join(CustomerTier.values)}."
    if business_impact not in (0, 1, 2, 3):  # scoring hook
        errors["business_impact"] = "Business impact must be 0 (none) to 3 (severe)."
    if errors:
        raise InvalidAction("The case is incomplete: " + "; ".join(f"{k}: {v}" for k, v in errors.items()), errors)
    path, steps = config_cache.cached(("path", category.pk), lambda: _path_and_steps(category))
    level, step_team = steps[0] if steps else (Level.objects.order_by("rank").first(), None)
    if level is None:
        raise InvalidAction("No levels are configured; a manager must set up the ladder first.")
    now = timezone.now()
    with transaction.atomic(savepoint=False):  # within a caller's transaction (mail intake): no savepoint
        case = Case(
            title=title.strip(),
            description=(description or "").strip(),
            requester_name=requester_name.strip(),
            requester_email=requester_email.strip(),
            category=category,
            impact=impact,
            urgency=urgency,
            business_impact=business_impact,
            **dict(
                zip(("priority", "score"), scoring.priority_and_score(impact, urgency, customer_tier, business_impact))
            ),
            complexity=complexity,
            customer_tier=customer_tier,
            level=level,
            highest_level=level,
            entry_level=level,
            team=team or step_team,
            path=path,
            created_by=actor,
            opened_at=now,
            level_entered_at=now,
            follow_up_of=follow_up_of,
            policy_snapshot=clock.with_sla_level(  # the customer's SLA: policy x priority at intake
                config_cache.cached(
                    "default_snapshot",
                    lambda: clock.freeze_policy(SlaPolicy.objects.select_related("calendar").default()),
                ),
                level.code,
            ),
        )
        case.version = 0
        routing.apply(case, level, now)  # routing hook: note, or team and assignee, under the active policy
        follow_up = f" as a follow-up of case #{follow_up_of.pk}" if follow_up_of is not None else ""
        save_case(case, actor, f"Opened{follow_up} under SLA policy '{case.policy_snapshot['policy']}'", now)
        suggestion = suggestions.record_at_intake(case, actor, now, seen=suggestion_shown)
        suggestions.route_at_intake(case, suggestion, now)  # routing policy: straight to the predicted level
        following.follow_automatically(case, actor, "Follows the case they opened")
        notices.queue(
            case,
            notices.Message(
                "opened",
                f"We received your request: {case.title} [case #{case.pk}]",
                f"Hello {case.requester_name},\n\nyour request is logged as case #{case.pk} "
                f"with priority P{case.priority}. We will keep you informed.",
                urgent=False,
            ),
            [case.requester_email],
            key=f"opened:{case.pk}",
        )
    return case


def _path_and_steps(category: Category):
    path = paths.path_for(category)
    return path, paths.steps_of(path.pk if path else None)


@action("take")
def case_take(*, case_id: int, actor: Actor, version: int | None = None) -> Case:
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        run(case, "take", actor, actor, now)
        save_case(case, actor, f"Taken by {actor}", now)
        approvals.reroute_pending([case], actor, now)
    return case


@action("assign")
def case_assign(*, case_id: int, actor: Actor, assignee_id: int, version: int | None = None) -> Case:
    """Give the case to a colleague at the case's level. Higher levels get a case by escalation
    (with a handoff), lower ones help through an invitation."""
    try:
        assignee_pk = as_id(assignee_id, "colleague")
    except InvalidAction:
        assignee_pk = 0
    assignee = (
        get_user_model().objects.filter(pk=assignee_pk, is_active=True).select_related("staff_profile__level").first()
    )
    if assignee is None:
        raise InvalidAction("Choose an active colleague.", {"assignee": "Unknown or inactive user."})
    with transaction.atomic():
        case = lock_case(case_id, version)
        level = authority.user_level(assignee)
        if level is not None and level.rank > case.level.rank:
            raise InvalidAction(
                f"{assignee} works at {level.code}, above this case's level ({case.level.code}). Putting the case "
                f"in a higher level's hands is an escalation: use Escalate, with a handoff.",
                {"assignee": f"Choose someone at {case.level.code}, or escalate the case."},
            )
        if level is None or level.pk != case.level_id:
            raise InvalidAction(
                f"{assignee} does not work at {case.level.code}; to get their help, invite them as a collaborator.",
                {"assignee": f"Choose someone at {case.level.code}."},
            )
        now = timezone.now()
        run(case, "assign", actor, assignee, None)
        save_case(case, actor, f"Assigned to {assignee}", now)
        approvals.reroute_pending([case], actor, now)
        notices.queue(
            case,
            notices.Message(
                "assigned", f"Case #{case.pk} assigned to you", f"{actor} assigned you case #{case.pk} {case.title}."
            ),
            [assignee.email] if assignee.email else [],
            key=f"assigned:{case.pk}:{case.version}",
        )
    return case


def _check_can_work(case: Case, actor: Actor, allowed=authority.can_work) -> None:
    if not may(actor, allowed, case):
        raise NotAllowed(f"You may not work case #{case.pk} at {case.level.code}.")
    if not case.is_open:
        raise InvalidAction(f"Case #{case.pk} is {case.get_status_display().lower()}; notes are closed.")


@action("note")
def case_note(*, case_id: int, actor: Actor, body: str, files=()) -> Note:
    """An internal note, with files staff attach (never shown to the requester): the case
    itself does not change, so no case history row (the note and each file have theirs)."""
    body = require(body, "body", "Write the note.")
    check_files(files)
    with transaction.atomic():
        case = Case.objects.select_related("level").filter(pk=as_id(case_id, "case")).first()
        if case is None:
            raise InvalidAction(f"There is no case #{case_id}.")
        _check_can_work(case, actor, authority.can_note)  # swarming: collaborators may add internal notes
        note = Note(case=case, kind=NoteKind.INTERNAL, author=actor, body=body, created_at=timezone.now())
        save(note, actor, "Internal note")
        attach_files(case, note, files, actor, note.created_at)
    return note


@action("public-update")
def case_public_update(*, case_id: int, actor: Actor, body: str, version: int | None = None, files=()) -> Note:
    """An update to the requester by e-mail, with its files attached to the e-mail and shown
    in the portal: contact with the customer, so the first one is the SLA's first response
    (and answers the level's OLA response if nothing did yet)."""
    body = require(body, "body", "Write the update.")
    check_files(files)
    with transaction.atomic():
        case = lock_case(case_id, version)
        _check_can_work(case, actor)
        now = timezone.now()
        note = Note(case=case, kind=NoteKind.PUBLIC, author=actor, body=body, created_at=now)
        save(note, actor, "Public update")
        attach_files(case, note, files, actor, now)
        if case.responded_at is None or case.first_response_at is None:
            run(case, "record_response", actor, now)
            save_case(case, actor, "First response: public update to the requester", now)
        notices.queue(
            case,
            notices.Message("public_update", f"Update on your request [case #{case.pk}]", body, note=note),
            [case.requester_email],
            key=f"public:{note.pk}",
        )
    return note


@action("pause")
def case_pause(
    *, case_id: int, actor: Actor, reason: str, waiting_for: str = WaitKind.CUSTOMER, version: int | None = None
) -> Case:
    """Wait on the customer (the SLA clock pauses) or on a vendor or another team (the clock
    runs: only the customer stops the customer's clock). Either way the wait is recorded."""
    if waiting_for not in WaitKind.values:
        raise InvalidAction(f"Unknown wait '{waiting_for}'.", {"waiting_for": "Choose what the case waits on."})
    kind = WaitKind(waiting_for)
    reason = require(reason, "reason", f"Say what you are waiting for from {kind.label.lower()}.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        if kind == WaitKind.CUSTOMER:
            run(case, "pause_for_customer", actor, now)
            waits.start(case, kind, reason, now)
            save_case(case, actor, f"Awaiting customer: {reason}", now)
            return case
        _check_can_work(case, actor)
        if case.status != CaseStatus.IN_PROGRESS:
            raise InvalidAction(
                f"Case #{case.pk} is {case.get_status_display().lower()}; only a case in progress waits on "
                f"{kind.label.lower()}."
            )
        if case.waiting_on == kind:
            raise InvalidAction(f"Case #{case.pk} already waits on {kind.label.lower()}.")
        waits.start(case, kind, reason, now)
        save_case(case, actor, f"Waiting on {kind.label.lower()} (the SLA clock runs): {reason}", now)
    return case


@action("resume")
def case_resume(*, case_id: int, actor: Actor, reason: str = "Customer answered", version: int | None = None) -> Case:
    """End the pause for the customer, or the wait on a vendor or another team."""
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        if case.status == CaseStatus.IN_PROGRESS and case.waiting_on and case.waiting_on != WaitKind.CUSTOMER:
            _check_can_work(case, actor)
            waiting_on = WaitKind(case.waiting_on).label.lower()
            waits.end(case, now)
            save_case(case, actor, f"No longer waiting on {waiting_on}: {reason}", now)
            return case
        run(case, "resume", actor, now)
        save_case(case, actor, f"Resumed: {reason}", now)
    return case


@action("resolve")
def case_resolve(
    *, case_id: int, actor: Actor, summary: str, publish_article: bool = False, version: int | None = None
) -> Case:
    """Resolve; the requester is asked to confirm (which closes) or reject (which reopens)."""
    with transaction.atomic():
        case = lock_case(case_id, version)
        approvals.pending_block(case, "resolve")
        now = timezone.now()
        run(case, "resolve", actor, summary, now)
        save_case(case, actor, f"Resolved: {case.resolution_summary}", now)
        if publish_article:
            article = KnowledgeArticle(
                title=case.title, body=case.resolution_summary, category=case.category, author=actor, created_at=now
            )
            save(article, actor, f"Published from case #{case.pk}")
            article.cases.add(case)
        if case.major_declared_at is not None:
            notices.queue(
                case,
                notices.Message(
                    "review_required",
                    f"Post-incident review required: case #{case.pk} {case.title}",
                    f"Major incident case #{case.pk} was resolved by {actor}: {case.resolution_summary}\n"
                    f"It needs a post-incident review before it is closed: {notices.case_url(case)}review/",
                ),
                major.declaration_recipients(case),
                key=f"review_required:{case.pk}:{case.version}",
            )
        notices.queue(
            case,
            notices.Message(
                "resolved",
                f"Resolved: {case.title} [case #{case.pk}]",
                f"Hello {case.requester_name},\n\nwe resolved your request:\n\n"
                f"{case.resolution_summary}\n\nPlease confirm or reject the resolution: "
                f"{requester_links.confirmation_url(case)}",
            ),
            [case.requester_email],
            key=f"resolved:{case.pk}:{case.version}",
        )
        following.tell_followers(
            case,
            actor,
            "resolved",
            f"{actor} resolved it: {case.resolution_summary}",
            f"resolved:{case.pk}:{case.version}",
        )
        notices.queue(  # the satisfaction survey, once per resolution (a new resolution, a new link)
            case,
            notices.Message(
                "survey",
                f"How did we do? [case #{case.pk}]",
                f"Hello {case.requester_name},\n\nhow satisfied are you with how we handled your request? "
                f"One click and a comment if you like:\n\n{portal_links.survey_url(case)}",
                urgent=False,
            ),
            [case.requester_email],
            key=f"survey:{case.pk}:{case.version}",
        )
    return case


@action("reopen")
def case_reopen(*, case_id: int, actor: Actor, reason: str, version: int | None = None) -> Case:
    """Reopen a resolved case; the system actor reopens it for the requester rejecting the resolution."""
    reason = require(reason, "reason", "Say why the case is reopened.")
    with transaction.atomic():
        case = lock_case(case_id, version)
        now = timezone.now()
        run(case, "reopen", actor, now)
        who = "the requester" if is_system(actor) else actor
        save_case(case, actor, f"Reopened by {who}: {reason}", now)
        told = notices.recipients_for(case, ["assignee", "team"])
        notices.queue(
            case,
            notices.Message("reopened", f"Case #{case.pk} reopened", f"{who}: {reason}"),
            told,
            key=f"reopened:{case.pk}:{case.version}",
        )
        following.tell_followers(
            case, actor, "reopened", f"Reopened by {who}: {reason}", f"reopened:{case.pk}:{case.version}", told
        )
    return case


@action("close")
def case_close(*, case_id: int, actor: Actor, reason: str = "Resolution confirmed", version: int | None = None) -> Case:
    """Close a resolved case; the system actor closes it for the requester confirming the resolution."""
    with transaction.atomic():
        case = lock_case(case_id, version)
        approvals.pending_block(case, "close")
        now = timezone.now()
        major.check_may_close(case, actor)
        run(case, "close", actor, now)
        save_case(case, actor, f"Closed: {reason}", now)
    return case
