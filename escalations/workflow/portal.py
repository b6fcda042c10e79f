"""What the requester does in the portal besides writing (``workflow.customer``): ask for
a sign-in link, say that an article solved their problem, rate a resolution.

The requester has no account: the portal (or the survey link) established who they
are and acts as ``workflow.system_actor()``; these functions refuse anyone else, so a
staff member can never rate a case or record a deflection in a requester's name.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from escalations.domain import portal_links, rules
from escalations.models import CaseStatus, Category, Deflection, KnowledgeArticle, SatisfactionSurvey, TriggerRule
from escalations.workflow import notices
from escalations.workflow.actors import Actor, is_system, require_actor
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, lock_case, save
from escalations.workflow.cases import case_open

A = TriggerRule.Action


def _requester_only(actor: Actor) -> None:
    require_actor(actor)
    if not is_system(actor):
        raise NotAllowed("Only the requester does this, through the portal or their e-mailed link.")


@action("portal-link")
def portal_send_link(*, actor: Actor, email: str) -> list:
    """Mail a signed, expiring sign-in link to the address (through the outbox). Sent
    whatever the address: the page never says whether we know it."""
    _requester_only(actor)
    address = portal_links.normal_address(email)
    if "@" not in address:
        raise InvalidAction("Enter your e-mail address.", {"email": "Enter your e-mail address."})
    now = timezone.now()
    with transaction.atomic():
        return notices.queue(
            None,
            notices.Message(
                "portal_link",
                "Your sign-in link to the support portal",
                "Hello,\n\nopen this link to see your requests and write to us "
                f"(it works for {portal_links._minutes('PORTAL_LINK_MINUTES', 30)} minutes):\n\n"
                f"{portal_links.sign_in_url(address)}\n\nIf you did not ask for it, ignore this message.",
            ),
            [address],
            key=f"portal_link:{address}:{now.timestamp()}",
        )


@action("deflect")
def knowledge_deflect(
    *, actor: Actor, requester_email: str, article_id: int, query: str = "", category: Category | None = None
) -> Deflection:
    """ "This solved it": recorded, nothing is opened or closed."""
    _requester_only(actor)
    article = KnowledgeArticle.objects.filter(pk=as_id(article_id, "article"), is_published=True).first()
    if article is None:
        raise InvalidAction("There is no such published article.", {"article": "Unknown article."})
    row = Deflection(
        article=article,
        category=category or article.category,
        requester_email=portal_links.normal_address(requester_email),
        query=(query or "")[:500],
    )
    row.save()  # operational data without history, like the mail channel's InboundMessage
    return row


@action("survey-answer")
def survey_answer(
    *, actor: Actor, case_id: int, requester_email: str, score: int, comment: str = "", via: str = "portal"
) -> SatisfactionSurvey:
    """The requester rates the current resolution of their case, once; a low score fires
    the low-satisfaction rules (a notice, or a follow-up case for the team manager)."""
    _requester_only(actor)
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidAction("Choose a score from 1 to 5.", {"score": "Choose a score from 1 to 5."})
    with transaction.atomic():
        case = lock_case(case_id, None)
        if portal_links.normal_address(case.requester_email) != portal_links.normal_address(requester_email):
            raise NotAllowed("Only the requester of this case may rate it.")
        if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.resolved_at is None:
            raise InvalidAction(f"Case #{case.pk} is not resolved; there is nothing to rate yet.")
        if SatisfactionSurvey.objects.filter(case=case, resolved_at=case.resolved_at).exists():
            raise InvalidAction("You already rated this resolution. Thank you!")
        survey = SatisfactionSurvey(
            case=case,
            resolved_at=case.resolved_at,
            requester_email=case.requester_email,
            score=score,
            comment=(comment or "").strip()[:5000],
            answered_at=timezone.now(),
            via=via[:16],
            level_id=case.level_id,
            team_id=case.team_id,
            assignee_id=case.assignee_id,
            category_id=case.category_id,
            escalation_count=case.escalation_count,
        )
        try:
            with transaction.atomic():  # two tabs at once: the unique constraint decides
                save(survey, actor, f"Satisfaction {score}/5")
        except IntegrityError:
            raise InvalidAction("You already rated this resolution. Thank you!") from None
        for decision in rules.on_satisfaction(case, score, rules.active_rules()):
            APPLY[decision.rule.action](survey, decision, actor)
    return survey


def _notify(survey: SatisfactionSurvey, decision: rules.Decision, actor: Actor) -> None:
    case = survey.case
    recipients = notices.recipients_for(case, decision.rule.recipients or ["team_manager"])
    comment = f"\n\nTheir comment:\n{survey.comment}" if survey.comment else ""
    notices.queue(
        case,
        notices.Message(
            "low_satisfaction",
            f"Low satisfaction ({survey.score}/5) on case #{case.pk}",
            f"The requester rated the resolution of case #{case.pk} {case.title} {survey.score}/5 "
            f"({decision.reason}; rule '{decision.rule.name}').{comment}",
        ),
        [r for r in recipients if r.lower() != case.requester_email.lower()],
        key=f"low_satisfaction:{survey.pk}:{decision.rule.pk}",
    )
    if survey.rule_id is None:
        survey.rule = decision.rule
        save(survey, actor, f"Rule '{decision.rule.name}' fired")


def _follow_up(survey: SatisfactionSurvey, decision: rules.Decision, actor: Actor) -> None:
    """A case for the team's manager (as its requester, so it never shows in the customer's
    portal), in the same team, naming the rated case; the manager is told as well."""
    case = survey.case
    manager = case.team.manager if case.team_id and case.team.manager_id else None
    owner_email = manager.email if manager is not None and manager.email else (case.team.email if case.team_id else "")
    if owner_email:
        opened = case_open(
            actor=actor,
            title=f"Low satisfaction ({survey.score}/5): {case.title}"[:200],
            requester_name=(manager.get_full_name() or manager.get_username()) if manager else case.team.name,
            requester_email=owner_email,
            category=case.category,
            impact=2,
            urgency=2,
            description=(
                f"The requester {case.requester_name} <{case.requester_email}> rated the resolution of "
                f"case #{case.pk} {survey.score}/5 after {case.escalation_count} escalation(s).\n\n"
                f"Their comment: {survey.comment or '(none)'}\n\nRule: {decision.rule.name} ({decision.reason})."
            ),
            team=case.team,
            follow_up_of=case,
        )
        survey.follow_up = opened
    _notify(survey, decision, actor)
    if survey.follow_up_id:
        save(survey, actor, f"Follow-up case #{survey.follow_up_id} opened")


APPLY = {A.NOTIFY: _notify, A.FOLLOW_UP: _follow_up}
