"""The authorization matrix: every role (anonymous included) against every page and action,
as real requests through Django's test client.

``MATRIX`` below is the one source of truth: the tables in ``docs/authorization.md`` are
rendered from it and a test checks that they match (``WRITE_AUTHZ_DOC=1`` rewrites them).
Every POST whose expected outcome is not ``done`` must leave the database as it was: no
new row in any table (history rows included) and every case at the version it had. A
guard test fails when the project has a URL pattern no entry covers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from escalations import workflow
from escalations.actions import catalogue
from escalations.domain import requester_links as requester
from escalations.models import (
    AlertCase,
    AlertRule,
    AlertSeverity,
    ApiToken,
    ApprovalRequest,
    AuditHead,
    AuditSeal,
    AuthorityGrant,
    BusinessCalendar,
    CannedReply,
    Case,
    CaseSuggestion,
    Category,
    Escalation,
    EscalationPath,
    InboundMessage,
    KnowledgeArticle,
    Mailbox,
    Notification,
    Review,
    RiskModel,
    RoutingPolicy,
    RuleFiring,
    ScoringPolicy,
    SlaPolicy,
    StaffProfile,
    SweepHeartbeat,
    Team,
    TeamWebhook,
    TextModel,
    TriggerRule,
)
from escalations.reports import REGISTRY

from .factories import HANDOFF, CategoryFactory, TeamFactory, UserFactory, level, open_case, staff

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parent.parent / "docs" / "authorization.md"
ROLES = ("anonymous", "agent", "specialist", "senior", "expert", "executive", "manager", "auditor", "admin")
HEADER = (
    "anon",
    "agent L1",
    "specialist L2",
    "senior L3",
    "expert L4",
    "executive",
    "manager",
    "auditor",
    "admin (superuser)",
)

# What a cell says. For a POST, every outcome but ``done`` also asserts that nothing changed.
OUTCOMES = {
    "200": "the page is shown (a POST form shown again with its errors: the permission check passed, nothing saved)",
    "done": "the action happened: redirect (302; 200 on the requester's page, 200/201 from the API) and a change "
    "recorded",
    "409": "API: the version sent is stale (someone changed the case): 409, nothing changed",
    "400": "refused by the workflow as not fitting the case now (e.g. following a case one follows already): "
    "the page again with the reason, nothing changed",
    "401": "API: no token, or one that is unknown or revoked: 401, nothing changed",
    "403": "refused: 403, nothing changed",
    "404": "not found, or out of the user's scope: 404, nothing changed",
    "login": "not signed in: redirect to the sign-in page (the staff one for staff pages, the admin one for /admin/)",
    "gone": "admin, out of the user's scope: treated as a missing row, redirect (302) to the admin index, "
    "nothing changed",
    "refused": "admin button the role has but may not use on this case now (its level, the case's state, "
    "the authority matrix): redirect (302) back to the change page with the reason, nothing "
    "changed",
    "→desk": "redirect to /desk/",
    "→my": "redirect to My queue",
    "→team": "redirect to Team queue",
    "→login": "redirect to the sign-in page (signed out)",
    "→admin": "redirect to the admin index",
    "→portal": "redirect to the requester portal's sign-in (no portal session)",
    "→requests": "redirect to the requester's list of requests in the portal (signed in there)",
}
REDIRECTS = {
    "→desk": "home",
    "→my": "my-queue",
    "→team": "team-queue",
    "→login": "login",
    "→admin": "admin:index",
    "→portal": "portal:sign-in",
    "→requests": "portal:home",
}
# Where a requester's action answers with its page (200) rather than a redirect.
DONE_200 = {"requester-confirm", "portal:sign-in", "portal:deflect", "portal:survey", "portal:survey-link"}


@dataclass(frozen=True)
class Req:
    url: str
    data: dict | None = None
    back: str | None = None  # the change page a ``refused`` admin button redirects to
    token: str | None = None  # API: sent as ``Authorization: Bearer``; ``data`` then goes as JSON


@dataclass(frozen=True)
class Entry:
    key: str
    label: str
    method: str
    path: str  # as documented
    route: str  # URL name (namespaced) or, for unnamed patterns, the full pattern
    expect: str  # one outcome per role, in ROLES order
    build: Callable[[World], Req]

    def outcome(self, role: str) -> str:
        return self.expect.split()[ROLES.index(role)]


@dataclass(frozen=True)
class Family:
    """One documented row expanded to one entry per admin model."""

    key: str
    label: str
    method: str
    view: str  # changelist, add, change, delete, history
    models: tuple[str, ...]  # "app_label.model_name"
    expect: str

    def entries(self) -> list[Entry]:
        out = []
        for label in self.models:
            app, name = label.split(".")
            out.append(
                Entry(
                    f"{self.key}.{name}",
                    f"{self.label}: {name}",
                    self.method,
                    f"/admin/{app}/{name}/…",
                    f"admin:{app}_{name}_{self.view}",
                    self.expect,
                    _model_page(label, self.view, self.method),
                )
            )
        return out


@dataclass(frozen=True)
class Section:
    title: str
    rules: str
    rows: tuple


# -- the world an entry is tried in (built lazily, per test) --------------------------------


class World:
    def __init__(self, request):
        self._request = request

    role = "anonymous"  # the role the cell is tried as (set by ``test_matrix``)

    def user(self, role: str):
        return self._request.getfixturevalue("superuser" if role == "admin" else role)

    def token(self, scopes: str = "read,act") -> str | None:
        """An API token of the role's own user (anonymous: none)."""
        if self.role == "anonymous":
            return None
        return ApiToken.objects.issue(user=self.user(self.role), scopes=scopes.split(","))[1]

    @cached_property
    def alert_rule(self):
        return AlertRule.objects.create(name="Spare alert rule", match={}, category=self.category)

    @cached_property
    def owner(self):  # opens the cases; not one of the roles tried
        return self.user("agent2")

    @cached_property
    def boss(self):
        return self.user("manager")

    @cached_property
    def category(self):
        return CategoryFactory(code="network", name="Network")

    def new(self, title="An L1 case") -> Case:
        return open_case(self.owner, self.category, title=title)

    def working(self, title="An L1 case in progress") -> Case:
        case = self.new(title)
        workflow.case_take(case_id=case.pk, actor=self.owner)
        return fresh(case)

    @cached_property
    def canned_reply(self):
        return CannedReply.objects.create(name="Thanks", body="Hello {requester_name}")

    @cached_property
    def mailbox(self):
        return Mailbox.objects.create(
            name="Spare mailbox", source="desk@mail.example:993/INBOX", category=self.category
        )

    def attachment(self, case):
        """A requester's file on the case (stored under a temporary MEDIA_ROOT)."""
        settings = self._request.getfixturevalue("settings")
        settings.MEDIA_ROOT = str(self._request.getfixturevalue("tmp_path"))
        sent = workflow.case_customer_message(
            actor=workflow.system_actor(),
            case_id=case.pk,
            sender=case.requester_email,
            body="See the log.",
            files=[workflow.IncomingFile("log.txt", "text/plain", b"the log")],
        )
        return sent.note.attachments.get()

    @cached_property
    def l1_new(self):
        return self.new()

    @cached_property
    def l1_working(self):
        return self.working()

    @cached_property
    def l1_suggested(self):  # a case from a channel whose text-model suggestion awaits a decision
        case = self.working("VPN tunnel drops")
        CaseSuggestion.objects.create(
            case=case,
            category=self.category,
            category_confidence=0.9,
            priority=2,
            priority_confidence=0.7,
            words={"category": ["vpn"], "priority": ["drops"]},
        )
        return fresh(case)

    @cached_property
    def l1_paused(self):
        case = self.working()
        workflow.case_pause(case_id=case.pk, actor=self.owner, reason="Waiting for logs")
        return fresh(case)

    @cached_property
    def l1_resolved(self):
        case = self.working()
        workflow.case_resolve(case_id=case.pk, actor=self.owner, summary="Replaced the cable")
        return fresh(case)

    @cached_property
    def l1_escalated(self):  # waiting at L2 for acceptance
        case = self.working()
        workflow.case_escalate(case_id=case.pk, actor=self.owner, handoff=HANDOFF)
        return fresh(case)

    @cached_property
    def l2_working(self):
        case = self.l1_escalated
        workflow.case_accept(case_id=case.pk, actor=self.boss)
        return fresh(case)

    @cached_property
    def l1_returned(self):  # escalated once, returned: back at L1 with a handoff on record
        case = self.working("Escalated and returned")
        workflow.case_escalate(case_id=case.pk, actor=self.owner, handoff=HANDOFF)
        workflow.case_return(case_id=case.pk, actor=self.boss, reason="Try the runbook first")
        return fresh(case)

    @cached_property
    def l1_closed_escalated(self):
        case = self.l1_returned
        workflow.case_resolve(case_id=case.pk, actor=self.boss, summary="Runbook worked")
        workflow.case_close(case_id=case.pk, actor=self.boss)
        return fresh(case)

    def at_l3(self, title) -> Case:
        case = self.working(title)
        workflow.case_escalate(
            case_id=case.pk,
            actor=self.boss,
            handoff=HANDOFF,
            to_level_code="L3",
            justification="Database corruption: L2 cannot help",
        )
        workflow.case_accept(case_id=case.pk, actor=self.boss)
        return fresh(case)

    @cached_property
    def l3_working(self):
        return self.at_l3("An L3 case")

    @cached_property
    def l3_followed(self):  # the L1 agent pressed Follow while it was at L1
        case = self.working("An L3 case the agent follows")
        workflow.case_follow(case_id=case.pk, actor=self.user("agent"))
        workflow.case_escalate(
            case_id=case.pk, actor=self.boss, handoff=HANDOFF, to_level_code="L3", justification="Data loss"
        )
        workflow.case_accept(case_id=case.pk, actor=self.boss)
        return fresh(case)

    @cached_property
    def l3_collab(self):  # the L1 agent is invited to help
        case = self.at_l3("An L3 case the agent helps on")
        workflow.case_invite(case_id=case.pk, actor=self.boss, user_id=self.user("agent").pk, reason="Knows them")
        return fresh(case)

    @cached_property
    def l3_closed_escalated(self):
        case = self.l3_working
        workflow.case_resolve(case_id=case.pk, actor=self.boss, summary="Restored from backup")
        workflow.case_close(case_id=case.pk, actor=self.boss)
        return fresh(case)

    @cached_property
    def l1_major(self):  # declared a major incident: an approved declaration, decided by the Executive
        case = self.working("A major incident")
        req = workflow.approval_request(
            case_id=case.pk, actor=self.owner, kind="major_incident", description="Every customer is down"
        )
        workflow.approval_decide(approval_id=req.pk, actor=self.user("executive"), approve=True)
        return fresh(case)

    @cached_property
    def l1_followed(self):  # every role follows it (so unfollowing changes something for each)
        case = self.working("An L1 case everyone follows")
        case.watchers.add(*[self.user(role) for role in ROLES[1:]])
        return fresh(case)

    @cached_property
    def pending_change(self):  # proposed by a second manager, so the tried manager may decide it
        return workflow.authority_change_propose(
            actor=staff("Manager", "mona"),
            what="staff_level",
            profile=self.owner.staff_profile,
            level=level("L2"),
            reason="Passed the exam",
        )

    def approval(self, case) -> ApprovalRequest:  # spend 500: the lowest level allowed is L2
        return workflow.approval_request(
            case_id=case.pk, actor=self.boss, kind="spend", amount="500", description="A new router"
        )

    @cached_property
    def article(self):
        return KnowledgeArticle.objects.create(title="Router reset", body="Hold the button.", is_published=True)

    @cached_property
    def l2_team(self):
        return TeamFactory(name="Network L2", level=level("L2"))

    def linked(self, case) -> Case:
        workflow.knowledge_link(case_id=case.pk, article_id=self.article.pk, actor=self.boss)
        return fresh(case)


def fresh(case) -> Case:
    return Case.objects.select_related("level").get(pk=case.pk)


# -- request builders ------------------------------------------------------------------------


def get(name, *args) -> Callable[[World], Req]:
    return lambda w: Req(reverse(name, args=args))


def staff_action(case_attr: str, action: str, **data) -> Callable[[World], Req]:
    """A case-page form: fields carry the action's prefix, versioned forms the case version."""

    def build(w: World) -> Req:
        case = getattr(w, case_attr)
        fields = {f"{action}-version": case.version}
        for k, v in data.items():
            fields[f"{action}-{k}"] = v(w) if callable(v) else v
        return Req(reverse("case-action", args=[case.pk, action]), fields)

    return build


def insert_reply(case_attr: str) -> Callable[[World], Req]:
    """The public-update form's "Insert the canned reply" button (writes nothing)."""

    def build(w: World) -> Req:
        case, reply = getattr(w, case_attr), w.canned_reply
        fields = {"public-update-version": case.version, "public-update-body": "", "public-update-canned": reply.pk}
        return Req(reverse("case-insert-reply", args=[case.pk]), fields)

    return build


def admin_act(case_attr: str, action: str, **data) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        case = getattr(w, case_attr)
        fields = {k: v(w) if callable(v) else v for k, v in data.items()}
        return Req(
            reverse("admin:escalations_case_act", args=[case.pk, action]),
            {"version": case.version, **fields},
            back=reverse("admin:escalations_case_change", args=[case.pk]),
        )

    return build


HANDOFF_FIELDS = {
    "summary": HANDOFF.summary,
    "steps_tried": HANDOFF.steps_tried,
    "customer_impact": HANDOFF.customer_impact,
    "knowledge_consulted": HANDOFF.knowledge_consulted,
    "to_level": "",
    "justification": "",
}


def _l1_approval(w):
    return w.approval(w.l1_working)


def _l3_approval(w):
    return w.approval(w.l3_working)


def decide(approval: Callable[[World], ApprovalRequest]) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        req = approval(w)
        return Req(
            reverse("approval-decide", args=[req.pk]),
            {f"decide{req.pk}-decision": "approve", f"decide{req.pk}-note": "Fine"},
        )

    return build


def withdraw(approval: Callable[[World], ApprovalRequest]) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        req = approval(w)
        return Req(reverse("approval-withdraw", args=[req.pk]), {f"withdraw{req.pk}-reason": "Not needed"})

    return build


def _bulk_take(w: World) -> Req:
    case = w.l1_new
    return Req(reverse("queue-bulk"), {"action": "take", "case": f"{case.pk}:{case.version}"})


def _bulk_note_l3(w: World) -> Req:
    """Out of scope, the case is refused on its own (back to the queue, nothing changed)."""
    case = w.l3_working
    return Req(reverse("queue-bulk"), {"action": "note", "body": "Same as #1", "case": f"{case.pk}:{case.version}"})


def _filter_of(user):
    from escalations.workflow import preferences  # the rows these entries act on

    return preferences.filter_save(user, "team", "Urgent", "priority=1")[0]


def _delete_own_filter(w: World) -> Req:
    if w.role == "anonymous":
        return Req(reverse("queue-filter-delete", args=[_filter_of(w.owner).pk]), {})
    return Req(reverse("queue-filter-delete", args=[_filter_of(w.user(w.role)).pk]), {})


def _decide_change(w: World) -> Req:
    change = w.pending_change
    return Req(
        reverse("admin:escalations_authoritychange_decide", args=[change.pk, "approve"]),
        {"note": "Agreed"},
        back=reverse("admin:escalations_authoritychange_change", args=[change.pk]),
    )


def admin_decide(approval: Callable[[World], ApprovalRequest]) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        req = approval(w)
        return Req(
            reverse("admin:escalations_approvalrequest_decide", args=[req.pk, "approve"]),
            {"note": "Fine"},
            back=reverse("admin:escalations_approvalrequest_change", args=[req.pk]),
        )

    return build


def token(w: World) -> str:
    return requester.confirmation_token(w.l1_resolved)


def _first_table_key(report) -> str:
    from escalations.reports import Filters

    today = timezone.localdate()
    result = report.run(Filters(date_from=today - timedelta(days=7), date_to=today))
    return result.tables[0].key


def report_page(csv: bool = False, name: str | None = None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        report = REGISTRY[name] if name else next(iter(REGISTRY.values()))
        if not csv:
            return Req(reverse("reports-detail", args=[report.name]))
        return Req(reverse("reports-csv", args=[report.name, _first_table_key(report)]))

    return build


# Objects the generic admin pages open: in the scope of every staff role (cases at L1),
# and, for configuration, a spare row of its own so that a manager's delete can succeed.
def _spare_rule(w):
    rule = TriggerRule.objects.order_by("pk").first()
    return TriggerRule.objects.create(
        name="Spare rule",
        order=999,
        is_active=False,
        condition=rule.condition,
        params=rule.params,
        action=rule.action,
        recipients=rule.recipients,
    )


def _spare_profile(w):
    return StaffProfile.objects.create(user=UserFactory(username="spare", is_staff=False), level=level("L1"))


def _first_audit_head(w):
    _ = w.l1_working  # writes history, so chain heads exist
    return AuditHead.objects.order_by("pk").first() or AuditHead.objects.create(table="x", rows=0)


OBJECTS: dict[str, Callable[[World], object]] = {
    "escalations.level": lambda w: type(level("L1")).objects.create(
        rank=90,
        code="L90",
        name="Spare level",
        response_target=timedelta(hours=1),
        resolution_target=timedelta(hours=2),
    ),
    "escalations.category": lambda w: Category.objects.create(code="spare", name="Spare"),
    "escalations.team": lambda w: Team.objects.create(name="Spare team", level=level("L1"), email="s@example.com"),
    "escalations.staffprofile": _spare_profile,
    "escalations.authoritygrant": lambda w: AuthorityGrant.objects.create(level=level("L1"), kind="spend", limit=10),
    "escalations.authoritychange": lambda w: w.pending_change,
    "escalations.businesscalendar": lambda w: BusinessCalendar.objects.create(name="Spare", timezone="UTC"),
    "escalations.slapolicy": lambda w: SlaPolicy.objects.create(
        name="Spare policy", calendar=BusinessCalendar.objects.order_by("pk").first()
    ),
    "escalations.escalationpath": lambda w: EscalationPath.objects.create(name="Spare path"),
    "escalations.triggerrule": _spare_rule,
    "escalations.scoringpolicy": lambda w: ScoringPolicy.objects.create(name="Spare scoring", is_active=False),
    "escalations.routingpolicy": lambda w: RoutingPolicy.objects.create(name="Spare routing", is_active=False),
    "escalations.knowledgearticle": lambda w: w.article,
    "escalations.case": lambda w: w.l1_working,
    "escalations.escalation": lambda w: Escalation.objects.filter(case=w.l1_returned).first(),
    "escalations.note": lambda w: workflow.case_note(case_id=w.l1_working.pk, actor=w.owner, body="Checked it."),
    "escalations.approvalrequest": _l1_approval,
    "escalations.review": lambda w: workflow.case_review(
        case_id=w.l1_closed_escalated.pk, actor=w.boss, root_cause="Missing runbook step"
    ),
    "escalations.collaboration": lambda w: workflow.case_invite(
        case_id=w.l1_working.pk, actor=w.boss, team_id=w.l2_team.pk, reason="Second opinion"
    ),
    "escalations.notification": lambda w: Notification.objects.create(
        case=w.l1_working, event="test", recipient="a@example.com", subject="s", body="b", dedupe_key="authz:1"
    ),
    "escalations.rulefiring": lambda w: RuleFiring.objects.create(
        case=w.l1_working,
        rule=TriggerRule.objects.order_by("pk").first(),
        level=level("L1"),
        fired_at=timezone.now(),
        reason="test",
    ),
    "escalations.sweepheartbeat": lambda w: SweepHeartbeat.objects.create(name="sweep", last_run_at=timezone.now()),
    "escalations.riskmodel": lambda w: RiskModel.objects.create(target="breach", features=["priority"]),
    "escalations.textmodel": lambda w: TextModel.objects.create(source="all"),
    "escalations.casesuggestion": lambda w: w.l1_suggested.suggestion,
    "escalations.audithead": _first_audit_head,
    "escalations.auditseal": lambda w: AuditSeal.objects.create(actor="root", reason="Test seal", tables=[]),
    "escalations.mailbox": lambda w: w.mailbox,
    "escalations.inboundmessage": lambda w: InboundMessage.objects.create(
        mailbox=w.mailbox, message_id="<authz@example.com>", outcome="opened", case=w.l1_working
    ),
    "escalations.attachment": lambda w: w.attachment(w.l1_working),
    "escalations.alertseverity": lambda w: AlertSeverity.objects.create(label="spare", impact=2, urgency=2),
    "escalations.alertrule": lambda w: w.alert_rule,
    "escalations.teamwebhook": lambda w: TeamWebhook.objects.create(
        team=w.l2_team, name="Spare hook", url="http://127.0.0.1:9/hook"
    ),
    "escalations.cannedreply": lambda w: w.canned_reply,
    "escalations.alertcase": lambda w: AlertCase.objects.create(
        source="generic", fingerprint="authz", case=w.l1_working
    ),
    "escalations.apitoken": lambda w: ApiToken.objects.issue(user=w.owner, scopes=["read"])[0],
    "escalations.savedqueuefilter": lambda w: _filter_of(w.owner),
    "escalations.satisfactionsurvey": lambda w: workflow.survey_answer(
        actor=workflow.system_actor(), case_id=w.l1_resolved.pk, requester_email="rita@example.com", score=4
    ),
    "escalations.deflection": lambda w: workflow.knowledge_deflect(
        actor=workflow.system_actor(), requester_email="rita@example.com", article_id=w.article.pk
    ),
    "auth.user": lambda w: w.owner,
    "auth.group": lambda w: type(w.owner.groups.first()).objects.get(name="Agent"),
}


def _model_page(label: str, view: str, method: str) -> Callable[[World], Req]:
    app, name = label.split(".")

    def build(w: World) -> Req:
        if view in ("changelist", "add"):
            return Req(reverse(f"admin:{app}_{name}_{view}"), {} if method == "POST" else None)
        obj = OBJECTS[label](w)
        args = [obj.pk]
        if view == "simple_history":  # a past version
            args.append(obj.history.order_by("history_id").values_list("history_id", flat=True).first())
        data = {"post": "yes"} if view == "delete" else {}
        return Req(reverse(f"admin:{app}_{name}_{view}", args=args), data if method == "POST" else None)

    return build


def _on_l3(model: str, view: str) -> Callable[[World], Req]:
    """An admin page of a row that belongs to the L3 case."""

    def build(w: World) -> Req:
        case = w.l3_working
        obj = {
            "case": lambda: case,
            "note": lambda: workflow.case_note(case_id=case.pk, actor=w.boss, body="x"),
            "escalation": lambda: Escalation.objects.filter(case=case).first(),
            "approvalrequest": lambda: _l3_approval(w),
        }[model]()
        return Req(reverse(f"admin:escalations_{model}_{view}", args=[obj.pk]))

    return build


def _history_revert(w: World) -> Req:
    lv = level("L1")
    lv.save()  # a history row to try to revert to
    past = lv.history.order_by("history_id").first()
    return Req(
        reverse("admin:escalations_level_simple_history", args=[lv.pk, past.history_id]),
        {"rank": 1, "code": "HACK", "name": "x"},
    )


def _new_case_form(w: World) -> Req:
    return Req(
        reverse("case-new"),
        {
            "requester_name": "Rita",
            "requester_email": "rita@example.com",
            "title": "Printer on fire",
            "category": w.category.pk,
            "impact": 2,
            "urgency": 2,
            "complexity": "medium",
            "customer_tier": "standard",
            "description": "Smoke everywhere.",
        },
    )


def _review_post(case_attr: str) -> Callable[[World], Req]:
    return lambda w: Req(
        reverse("case-review", args=[getattr(w, case_attr).pk]),
        {"root_cause": "Missing runbook step", "escalation_warranted": "no", "complete": "on"},
    )


def _link(case_attr: str) -> Callable[[World], Req]:
    return lambda w: Req(reverse("article-link", args=[getattr(w, case_attr).pk]), {"link-article": w.article.pk})


def _unlink(w: World) -> Req:
    case = w.linked(w.l1_working)
    return Req(reverse("article-unlink", args=[case.pk, w.article.pk]), {})


def _load_holidays(w: World) -> Req:
    calendar = BusinessCalendar.objects.create(name="Berlin", timezone="Europe/Berlin", holiday_country="DE")
    return Req(
        reverse("admin:escalations_businesscalendar_changelist"),
        {"action": "load_public_holidays", "_selected_action": [calendar.pk]},
    )


def _delete_selected(w: World) -> Req:
    spare = Category.objects.create(code="spare", name="Spare")
    return Req(
        reverse("admin:escalations_category_changelist"),
        {"action": "delete_selected", "_selected_action": [spare.pk], "post": "yes"},
    )


def _autocomplete(w: World) -> Req:
    _ = w.l1_working  # the world's cases exist
    return Req(
        reverse("admin:autocomplete") + "?app_label=escalations&model_name=knowledgearticle&field_name=cases&term=case"
    )


def _view_on_site(w: World) -> Req:
    ct = ContentType.objects.get_for_model(Case)
    return Req(reverse("admin:view_on_site", args=[ct.pk, w.l1_working.pk]))


# -- the requester portal: its own cookie, set on the test's client before the request ---------

PORTAL_OUT = "→portal " * 8 + "→portal"  # no portal cookie: to the portal's sign-in, staff or not


def _portal_cookie(w: World, who: str | None) -> None:
    from django.core.cache import cache

    from escalations.domain import portal_links
    from escalations.portal.session import COOKIE

    cache.clear()  # the sign-in rate limits count per process: every cell starts afresh
    if who is not None:
        email = "rita@example.com" if who == "own" else "mallory@example.com"
        w._request.getfixturevalue("client").cookies[COOKIE] = portal_links.session_value(email)


def _portal(who: str | None, name: str, data=None, case: str | None = None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        args = [getattr(w, case).pk] if case else []
        _portal_cookie(w, who)
        body = data(w) if callable(data) else data
        return Req(reverse(f"portal:{name}", args=args), body)

    return build


def _new_request(w: World) -> dict:
    return {"requester_name": "Rita", "title": "Printer", "category": w.category.pk, "body": "Jammed", "step": "send"}


def _enter(data=None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        from escalations.domain import portal_links

        _portal_cookie(w, None)
        return Req(reverse("portal:enter", args=[portal_links.sign_in_token("rita@example.com")]), data)

    return build


def _portal_file(who: str) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        case = w.l1_working
        attachment = w.attachment(case)
        _portal_cookie(w, who)
        return Req(reverse("portal:attachment", args=[case.pk, attachment.pk]))

    return build


def _survey_link(data=None) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        from escalations.domain import portal_links

        return Req(reverse("portal:survey-link", args=[portal_links.survey_token(w.l1_resolved)]), data)

    return build


# -- the matrix ------------------------------------------------------------------------------
# Columns: anon agent specialist senior expert executive manager auditor admin

ALL_200 = "login 200 200 200 200 200 200 200 200"
ALL_OPEN = "200 200 200 200 200 200 200 200 200"
WORKERS = "login done done done done done done 403 done"  # everyone who works cases; auditors are read-only
ABOVE_L2 = "login 404 404 done done done done 403 done"  # an L3 case: out of L1/L2 scope
CONFIG = (
    "escalations.level",
    "escalations.category",
    "escalations.team",
    "escalations.staffprofile",
    "escalations.businesscalendar",
    "escalations.slapolicy",
    "escalations.escalationpath",
    "escalations.triggerrule",
    "escalations.scoringpolicy",
    "escalations.routingpolicy",
    "escalations.mailbox",
    "escalations.alertseverity",
    "escalations.alertrule",
    "escalations.teamwebhook",
    "escalations.cannedreply",
)
RECORDS = (
    "escalations.authoritygrant",  # changed only through a four-eyes authority change
    "escalations.case",
    "escalations.escalation",
    "escalations.note",
    "escalations.approvalrequest",
    "escalations.review",
    "escalations.collaboration",
    "escalations.notification",
    "escalations.rulefiring",
    "escalations.sweepheartbeat",
    "escalations.riskmodel",
    "escalations.textmodel",
    "escalations.casesuggestion",
    "escalations.audithead",
    "escalations.auditseal",
    "escalations.inboundmessage",
    "escalations.attachment",
    "escalations.alertcase",
    "escalations.satisfactionsurvey",
    "escalations.deflection",
)
KB = ("escalations.knowledgearticle",)
FOUR_EYES = ("escalations.authoritychange",)  # managers propose (add); a second manager decides (a button)
HISTORY = tuple(
    m
    for m in CONFIG + RECORDS + KB + FOUR_EYES
    if m
    not in (
        "escalations.notification",
        "escalations.rulefiring",
        "escalations.sweepheartbeat",
        "escalations.riskmodel",
        "escalations.textmodel",
        "escalations.audithead",
        "escalations.auditseal",
        "escalations.inboundmessage",
        "escalations.alertcase",
        "escalations.deflection",
    )
)
THIRD_PARTY = (
    "auth.user",
    "auth.group",
    "django_q.schedule",
    "django_q.success",
    "django_q.failure",
    "django_q.ormq",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
)

# -- the REST API: each role's own token ------------------------------------------------------


def _api(route: str, case: str | None = None, data=None, scopes="read,act", args=()) -> Callable[[World], Req]:
    def build(w: World) -> Req:
        target = [getattr(w, case).pk] if case else []
        body = data(w) if callable(data) else data
        return Req(reverse(route, args=target + list(args)), body, token=w.token(scopes))

    return build


def _api_new_case(w: World) -> dict:
    return {
        "title": "Opened through the API",
        "requester_name": "Rita",
        "requester_email": "rita@example.com",
        "category": w.category.pk,
        "impact": 2,
        "urgency": 2,
    }


def _alert(w: World) -> dict:
    w.alert_rule  # noqa: B018 (the rule the alert matches)
    return {"version": "4", "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull"}, "fingerprint": "f1"}]}


S = "/cases/<pk>/"
MATRIX: tuple[Section, ...] = (
    Section(
        "Staff pages (GET)",
        "Every staff page needs a signed-in user. A case page exists for a user only when "
        "the case is in their scope; otherwise it is 404, exactly as if it did not exist.",
        (
            Entry(
                "root",
                "site root",
                "GET",
                "/",
                "<>",
                "→desk →desk →desk →desk →desk →desk →desk →desk →desk",
                lambda w: Req("/"),
            ),
            Entry(
                "login",
                "sign-in page",
                "GET",
                "/login/",
                "login",
                "200 →desk →desk →desk →desk →desk →desk →desk →desk",
                get("login"),
            ),
            Entry(
                "home", "desk home", "GET", "/desk/", "home", "login →my →my →my →my →my →team →team →team", get("home")
            ),
            Entry("my-queue", "My queue", "GET", "/queue/mine/", "my-queue", ALL_200, get("my-queue")),
            Entry("team-queue", "Team queue", "GET", "/queue/team/", "team-queue", ALL_200, get("team-queue")),
            Entry(
                "collab-queue",
                "Collaborating queue",
                "GET",
                "/queue/collaborating/",
                "collab-queue",
                ALL_200,
                get("collab-queue"),
            ),
            Entry(
                "approvals",
                "approvals waiting (decided in place)",
                "GET",
                "/approvals/",
                "approvals",
                ALL_200,
                get("approvals"),
            ),
            Entry(
                "case-new",
                "new-case form",
                "GET",
                "/cases/new/",
                "case-new",
                "login 200 200 200 200 200 200 403 200",
                get("case-new"),
            ),
            Entry(
                "case-similar",
                "similar open cases (intake fragment)",
                "GET",
                "/cases/similar/",
                "case-similar",
                ALL_200,
                get("case-similar"),
            ),
            Entry(
                "case-suggest",
                "text model suggestion (intake fragment)",
                "GET",
                "/cases/suggest/",
                "case-suggest",
                ALL_200,
                get("case-suggest"),
            ),
            Entry(
                "case-detail.L1",
                "case page, L1 case",
                "GET",
                S,
                "case-detail",
                ALL_200,
                lambda w: Req(reverse("case-detail", args=[w.l1_working.pk])),
            ),
            Entry(
                "case-detail.L3",
                "case page, L3 case",
                "GET",
                S,
                "case-detail",
                "login 404 404 200 200 200 200 200 200",
                lambda w: Req(reverse("case-detail", args=[w.l3_working.pk])),
            ),
            Entry(
                "case-detail.L3-invited",
                "case page, L3 case the agent is invited to",
                "GET",
                S,
                "case-detail",
                "login 200 404 200 200 200 200 200 200",
                lambda w: Req(reverse("case-detail", args=[w.l3_collab.pk])),
            ),
            Entry(
                "case-attachment.L1",
                "a requester's file, L1 case",
                "GET",
                S + "attachments/<id>/",
                "case-attachment",
                ALL_200,
                lambda w: Req(reverse("case-attachment", args=[w.l1_working.pk, w.attachment(w.l1_working).pk])),
            ),
            Entry(
                "case-attachment.L3",
                "a requester's file, L3 case",
                "GET",
                S + "attachments/<id>/",
                "case-attachment",
                "login 404 404 200 200 200 200 200 200",
                lambda w: Req(reverse("case-attachment", args=[w.l3_working.pk, w.attachment(w.l3_working).pk])),
            ),
            Entry(
                "case-similar-resolved.L1",
                "similar resolved cases, L1 case",
                "GET",
                S + "similar/",
                "case-similar-resolved",
                ALL_200,
                lambda w: Req(reverse("case-similar-resolved", args=[w.l1_working.pk])),
            ),
            Entry(
                "case-similar-resolved.L3",
                "similar resolved cases, L3 case",
                "GET",
                S + "similar/",
                "case-similar-resolved",
                "login 404 404 200 200 200 200 200 200",
                lambda w: Req(reverse("case-similar-resolved", args=[w.l3_working.pk])),
            ),
            Entry(
                "case-review.L1",
                "review page, closed escalated case back at L1",
                "GET",
                S + "review/",
                "case-review",
                "login 403 403 200 200 200 200 403 200",
                lambda w: Req(reverse("case-review", args=[w.l1_closed_escalated.pk])),
            ),
            Entry(
                "case-review.L3",
                "review page, closed L3 case",
                "GET",
                S + "review/",
                "case-review",
                "login 404 404 200 200 200 200 403 200",
                lambda w: Req(reverse("case-review", args=[w.l3_closed_escalated.pk])),
            ),
            Entry(
                "following-queue",
                "Following queue",
                "GET",
                "/queue/following/",
                "following-queue",
                ALL_200,
                get("following-queue"),
            ),
            *(
                Entry(
                    f"{name}",
                    f"{label}: live update (new cases, fresh rows; JSON)",
                    "GET",
                    f"/queue/{path}/live/?mark=N",
                    name,
                    ALL_200,
                    lambda w, name=name: Req(reverse(name) + "?mark=0"),
                )
                for name, label, path in (
                    ("my-queue-live", "My queue", "mine"),
                    ("team-queue-live", "Team queue", "team"),
                    ("collab-queue-live", "Collaborating", "collaborating"),
                    ("following-queue-live", "Following", "following"),
                )
            ),
            Entry(
                "case-detail.L3-followed",
                "case page, L3 case the agent follows (read only)",
                "GET",
                S,
                "case-detail",
                "login 200 404 200 200 200 200 200 200",
                lambda w: Req(reverse("case-detail", args=[w.l3_followed.pk])),
            ),
            Entry("kb-list", "knowledge base", "GET", "/kb/", "kb-list", ALL_200, get("kb-list")),
            Entry(
                "kb-detail",
                "published article",
                "GET",
                "/kb/<pk>/",
                "kb-detail",
                ALL_200,
                lambda w: Req(reverse("kb-detail", args=[w.article.pk])),
            ),
            Entry(
                "kb-detail.draft",
                "unpublished article",
                "GET",
                "/kb/<pk>/",
                "kb-detail",
                "login 404 404 404 404 404 404 404 404",
                lambda w: Req(
                    reverse("kb-detail", args=[KnowledgeArticle.objects.create(title="Draft", is_published=False).pk])
                ),
            ),
        ),
    ),
    Section(
        "Staff actions (POST)",
        "Auditors are read-only: every staff POST answers 403 before its input is read. "
        "A case out of the user's scope is 404 (nothing typed is lost: the page gives it back). The "
        "workflow decides the rest: working a case needs the case's level or above (or the Manager role); "
        "accepting or returning a handoff needs the receiving level itself (or a manager); an invited "
        "collaborator may add notes and nothing else; approvals follow the authority matrix of the "
        "user's level (managers and superusers have no level, so they decide none); reviews need the "
        "review permission (senior and above, managers).",
        (
            Entry(
                "logout",
                "sign out",
                "POST",
                "/logout/",
                "logout",
                "→login →login →login →login →login →login →login →login →login",
                lambda w: Req(reverse("logout"), {}),
            ),
            Entry("case-new.post", "open a case", "POST", "/cases/new/", "case-new", WORKERS, _new_case_form),
            Entry(
                "act.take",
                "take (new L1 case)",
                "POST",
                S + "take/",
                "case-action",
                WORKERS,
                staff_action("l1_new", "take"),
            ),
            Entry(
                "act.assign",
                "assign (L1 case, to the L1 agent)",
                "POST",
                S + "assign/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "assign", assignee=lambda w: w.user("agent").pk),
            ),
            Entry(
                "act.note",
                "internal note (L1 case)",
                "POST",
                S + "note/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "note", body="Checked the router."),
            ),
            Entry(
                "act.public-update",
                "public update (L1 case)",
                "POST",
                S + "public-update/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "public-update", body="We are on it."),
            ),
            Entry(
                "act.record-contact",
                "record a phone contact with the customer (L1 case)",
                "POST",
                S + "record-contact/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "record-contact", note="Called the customer."),
            ),
            Entry(
                "act.classify",
                "accept or change the suggested classification (L1 case)",
                "POST",
                S + "classify/",
                "case-action",
                WORKERS,
                staff_action("l1_suggested", "classify", category=lambda w: w.category.pk, priority="2"),
            ),
            Entry(
                "act.change-priority",
                "change the priority, with a reason (L1 case)",
                "POST",
                S + "change-priority/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "change-priority", priority="1", reason="Whole office down"),
            ),
            Entry(
                "act.pause",
                "pause for the customer (L1 case)",
                "POST",
                S + "pause/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "pause", reason="Waiting for logs"),
            ),
            Entry(
                "act.resume",
                "resume (paused L1 case)",
                "POST",
                S + "resume/",
                "case-action",
                WORKERS,
                staff_action("l1_paused", "resume", reason="Logs arrived"),
            ),
            Entry(
                "act.escalate",
                "escalate with a handoff (L1 case)",
                "POST",
                S + "escalate/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "escalate", **HANDOFF_FIELDS),
            ),
            Entry(
                "act.accept",
                "accept (handoff waiting at L2)",
                "POST",
                S + "accept/",
                "case-action",
                "login 404 done 403 403 403 done 403 done",
                staff_action("l1_escalated", "accept"),
            ),
            Entry(
                "act.return",
                "return (handoff waiting at L2)",
                "POST",
                S + "return/",
                "case-action",
                "login 404 done 403 403 403 done 403 done",
                staff_action("l1_escalated", "return", reason="Try the runbook first"),
            ),
            Entry(
                "act.request-approval",
                "request an approval (L1 case)",
                "POST",
                S + "request-approval/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "request-approval", kind="spend", amount="500", description="A new router"),
            ),
            Entry(
                "act.de-escalate",
                "de-escalate (L2 case in progress)",
                "POST",
                S + "de-escalate/",
                "case-action",
                "login 404 done 403 403 403 done 403 done",
                staff_action("l2_working", "de-escalate", reason="L1 can finish it", to_level=""),
            ),
            Entry(
                "act.resolve",
                "resolve (L1 case)",
                "POST",
                S + "resolve/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "resolve", summary="Replaced the cable"),
            ),
            Entry(
                "act.reopen",
                "reopen (resolved L1 case)",
                "POST",
                S + "reopen/",
                "case-action",
                WORKERS,
                staff_action("l1_resolved", "reopen", reason="It broke again"),
            ),
            Entry(
                "act.close",
                "close (resolved L1 case)",
                "POST",
                S + "close/",
                "case-action",
                WORKERS,
                staff_action("l1_resolved", "close", reason="Confirmed by phone"),
            ),
            Entry(
                "act.invite",
                "invite a team (L1 case)",
                "POST",
                S + "invite/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "invite", collaborator=lambda w: f"t{w.l2_team.pk}", reason="Second look"),
            ),
            Entry(
                "act.end-major-incident",
                "end the major incident (L1 case; Executive only)",
                "POST",
                S + "end-major-incident/",
                "case-action",
                "login 403 403 403 403 done 403 403 403",
                staff_action("l1_major", "end-major-incident", reason="Service restored"),
            ),
            Entry(
                "act.unknown",
                "an action that does not exist",
                "POST",
                S + "fly/",
                "case-action",
                "login 404 404 404 404 404 404 403 404",
                staff_action("l1_working", "fly"),
            ),
            Entry(
                "case-insert-reply",
                "insert a canned reply into the public update (L1 case; nothing is written)",
                "POST",
                S + "canned-reply/",
                "case-insert-reply",
                "login 200 200 200 200 200 200 403 200",
                insert_reply("l1_working"),
            ),
            Entry(
                "case-insert-reply.L3",
                "insert a canned reply into the public update (L3 case)",
                "POST",
                S + "canned-reply/",
                "case-insert-reply",
                "login 404 404 200 200 200 200 403 200",
                insert_reply("l3_working"),
            ),
            Entry(
                "act.note.L3",
                "internal note (L3 case)",
                "POST",
                S + "note/",
                "case-action",
                ABOVE_L2,
                staff_action("l3_working", "note", body="Checked the replica."),
            ),
            Entry(
                "act.take.L3",
                "take (L3 case)",
                "POST",
                S + "take/",
                "case-action",
                ABOVE_L2,
                staff_action("l3_working", "take"),
            ),
            Entry(
                "act.note.L3-invited",
                "internal note (L3 case the agent is invited to)",
                "POST",
                S + "note/",
                "case-action",
                "login done 404 done done done done 403 done",
                staff_action("l3_collab", "note", body="I know this customer."),
            ),
            Entry(
                "act.take.L3-invited",
                "take (L3 case the agent is invited to)",
                "POST",
                S + "take/",
                "case-action",
                "login 403 404 done done done done 403 done",
                staff_action("l3_collab", "take"),
            ),
            Entry(
                "approval-decide.L1",
                "decide an approval on an L1 case (spend 500: L2 and above)",
                "POST",
                "/approvals/<pk>/decide/",
                "approval-decide",
                "login 403 done done done done 403 403 403",
                decide(_l1_approval),
            ),
            Entry(
                "approval-withdraw.L1",
                "withdraw an approval request (requested by the manager)",
                "POST",
                "/approvals/<pk>/withdraw/",
                "approval-withdraw",
                "login 403 403 403 403 403 done 403 403",
                withdraw(_l1_approval),
            ),
            Entry(
                "queue-bulk",
                "bulk action on checked queue rows (take, new L1 case)",
                "POST",
                "/queue/bulk/",
                "queue-bulk",
                WORKERS,
                _bulk_take,
            ),
            Entry(
                "queue-bulk.L3",
                "bulk action on checked queue rows (note, L3 case: refused per case when out of scope)",
                "POST",
                "/queue/bulk/",
                "queue-bulk",
                "login →my →my done done done done 403 done",
                _bulk_note_l3,
            ),
            Entry(
                "queue-filter-save",
                "save the queue's current filter under a name (one's own)",
                "POST",
                "/queue/filters/save/",
                "queue-filter-save",
                "login done done done done done done done done",
                lambda w: Req(reverse("queue-filter-save"), {"queue": "team", "name": "Urgent", "query": "priority=1"}),
            ),
            Entry(
                "queue-filter-delete",
                "delete one's own saved filter",
                "POST",
                "/queue/filters/<pk>/delete/",
                "queue-filter-delete",
                "login done done done done done done done done",
                _delete_own_filter,
            ),
            Entry(
                "queue-filter-delete.other",
                "delete someone else's saved filter",
                "POST",
                "/queue/filters/<pk>/delete/",
                "queue-filter-delete",
                "login 404 404 404 404 404 404 404 404",
                lambda w: Req(reverse("queue-filter-delete", args=[_filter_of(w.owner).pk]), {}),
            ),
            Entry(
                "act.follow",
                "follow (L1 case)",
                "POST",
                S + "follow/",
                "case-action",
                WORKERS,
                staff_action("l1_working", "follow"),
            ),
            Entry(
                "act.follow.L3",
                "follow (L3 case; the manager escalated it, so follows it already)",
                "POST",
                S + "follow/",
                "case-action",
                "login 404 404 done done done 400 403 done",
                staff_action("l3_working", "follow"),
            ),
            Entry(
                "act.unfollow",
                "unfollow (L1 case everyone follows)",
                "POST",
                S + "unfollow/",
                "case-action",
                WORKERS,
                staff_action("l1_followed", "unfollow"),
            ),
            Entry(
                "act.note.L3-followed",
                "internal note (L3 case the agent follows: read only)",
                "POST",
                S + "note/",
                "case-action",
                "login 403 404 done done done done 403 done",
                staff_action("l3_followed", "note", body="Any news?"),
            ),
            Entry(
                "approval-decide.L3",
                "decide an approval on an L3 case (spend 500)",
                "POST",
                "/approvals/<pk>/decide/",
                "approval-decide",
                "login 404 404 done done done 403 403 403",
                decide(_l3_approval),
            ),
            Entry(
                "article-link.L1",
                "link an article (L1 case)",
                "POST",
                S + "articles/link/",
                "article-link",
                WORKERS,
                _link("l1_working"),
            ),
            Entry(
                "article-link.L3",
                "link an article (L3 case)",
                "POST",
                S + "articles/link/",
                "article-link",
                ABOVE_L2,
                _link("l3_working"),
            ),
            Entry(
                "article-unlink.L1",
                "unlink an article (L1 case)",
                "POST",
                S + "articles/<article_pk>/unlink/",
                "article-unlink",
                WORKERS,
                _unlink,
            ),
            Entry(
                "case-review.L1.post",
                "write the review (closed escalated case back at L1)",
                "POST",
                S + "review/",
                "case-review",
                "login 403 403 done done done done 403 done",
                _review_post("l1_closed_escalated"),
            ),
            Entry(
                "case-review.L3.post",
                "write the review (closed L3 case)",
                "POST",
                S + "review/",
                "case-review",
                "login 404 404 done done done done 403 done",
                _review_post("l3_closed_escalated"),
            ),
        ),
    ),
    Section(
        "The requester's signed link",
        "No account: the signed, expiring token is the authority, so a "
        "signed-in user gets exactly what the requester gets.",
        (
            Entry(
                "confirm",
                "confirmation page",
                "GET",
                "/confirm/<token>/",
                "requester-confirm",
                "200 200 200 200 200 200 200 200 200",
                lambda w: Req(reverse("requester-confirm", args=[token(w)])),
            ),
            Entry(
                "confirm.post",
                "confirm the resolution (closes the case)",
                "POST",
                "/confirm/<token>/",
                "requester-confirm",
                "done done done done done done done done done",
                lambda w: Req(reverse("requester-confirm", args=[token(w)]), {"answer": "confirm"}),
            ),
            Entry(
                "confirm.forged",
                "a forged token",
                "GET",
                "/confirm/<token>/",
                "requester-confirm",
                "404 404 404 404 404 404 404 404 404",
                lambda w: Req(reverse("requester-confirm", args=["forged:x"])),
            ),
        ),
    ),
    Section(
        "The requester portal",
        "Its own sign-in: a signed, expiring cookie from an e-mailed link, apart from the staff "
        "login, so a staff session alone is sent to the portal's sign-in (`→portal`) like anonymous. "
        "Rows *as the requester* carry the case requester's portal cookie (with each role's staff "
        "login as well: it changes nothing); *as another requester* the cookie of another address, "
        "for whom the case does not exist. The portal acts as the system actor for the address it "
        "signed in; staff never act in the requester's name here.",
        (
            Entry("portal.home", "my requests", "GET", "/portal/", "portal:home", PORTAL_OUT, _portal(None, "home")),
            Entry(
                "portal.home.requester",
                "my requests, as the requester",
                "GET",
                "/portal/",
                "portal:home",
                "200 " * 8 + "200",
                _portal("own", "home"),
            ),
            Entry(
                "portal.sign-in",
                "sign-in page",
                "GET",
                "/portal/sign-in/",
                "portal:sign-in",
                "200 " * 8 + "200",
                _portal(None, "sign-in"),
            ),
            Entry(
                "portal.sign-in.post",
                "ask for a sign-in link (rate-limited)",
                "POST",
                "/portal/sign-in/",
                "portal:sign-in",
                "done " * 8 + "done",
                _portal(None, "sign-in", {"email": "rita@example.com"}),
            ),
            Entry(
                "portal.enter",
                "the e-mailed sign-in link",
                "GET",
                "/portal/sign-in/<token>/",
                "portal:enter",
                "200 " * 8 + "200",
                _enter(),
            ),
            Entry(
                "portal.enter.post",
                "sign in with the link (sets the portal cookie)",
                "POST",
                "/portal/sign-in/<token>/",
                "portal:enter",
                "→requests " * 8 + "→requests",
                _enter({}),
            ),
            Entry(
                "portal.sign-out",
                "sign out of the portal",
                "POST",
                "/portal/sign-out/",
                "portal:sign-out",
                PORTAL_OUT,
                _portal("own", "sign-out", {}),
            ),
            Entry(
                "portal.new", "new request form", "GET", "/portal/new/", "portal:new", PORTAL_OUT, _portal(None, "new")
            ),
            Entry(
                "portal.new.post",
                "send a new request, as a requester",
                "POST",
                "/portal/new/",
                "portal:new",
                "done " * 8 + "done",
                _portal("own", "new", _new_request),
            ),
            Entry(
                "portal.suggestions",
                "live article suggestions without a portal session",
                "GET",
                "/portal/suggestions/",
                "portal:suggestions",
                PORTAL_OUT,
                _portal(None, "suggestions"),
            ),
            Entry(
                "portal.suggestions.requester",
                "live article suggestions while typing, as a requester (reads published articles only)",
                "GET",
                "/portal/suggestions/",
                "portal:suggestions",
                "200 " * 8 + "200",
                _portal("own", "suggestions"),
            ),
            Entry(
                "portal.deflect",
                "“this solved it” without a portal session",
                "POST",
                "/portal/solved/",
                "portal:deflect",
                PORTAL_OUT,
                _portal(None, "deflect", lambda w: {"article_id": w.article.pk}),
            ),
            Entry(
                "portal.deflect.requester",
                "“this solved it”, as a requester (recorded, nothing opened)",
                "POST",
                "/portal/solved/",
                "portal:deflect",
                "done " * 8 + "done",
                _portal("own", "deflect", lambda w: {"article_id": w.article.pk}),
            ),
            Entry(
                "portal.case",
                "a request's page without a portal session",
                "GET",
                "/portal/requests/<pk>/",
                "portal:case",
                PORTAL_OUT,
                _portal(None, "case", case="l1_working"),
            ),
            Entry(
                "portal.case.requester",
                "a request's page, as its requester",
                "GET",
                "/portal/requests/<pk>/",
                "portal:case",
                "200 " * 8 + "200",
                _portal("own", "case", case="l1_working"),
            ),
            Entry(
                "portal.case.other",
                "a request's page, as another requester",
                "GET",
                "/portal/requests/<pk>/",
                "portal:case",
                "404 " * 8 + "404",
                _portal("other", "case", case="l1_working"),
            ),
            Entry(
                "portal.case.post",
                "reply, as its requester",
                "POST",
                "/portal/requests/<pk>/",
                "portal:case",
                "done " * 8 + "done",
                _portal("own", "case", {"body": "It is still broken."}, case="l1_working"),
            ),
            Entry(
                "portal.case.post.other",
                "reply, as another requester",
                "POST",
                "/portal/requests/<pk>/",
                "portal:case",
                "404 " * 8 + "404",
                _portal("other", "case", {"body": "Let me in."}, case="l1_working"),
            ),
            Entry(
                "portal.resolution",
                "confirm the resolution (closes), as its requester",
                "POST",
                "/portal/requests/<pk>/resolution/",
                "portal:resolution",
                "done " * 8 + "done",
                _portal("own", "resolution", {"answer": "confirm"}, case="l1_resolved"),
            ),
            Entry(
                "portal.resolution.other",
                "confirm the resolution, as another requester",
                "POST",
                "/portal/requests/<pk>/resolution/",
                "portal:resolution",
                "404 " * 8 + "404",
                _portal("other", "resolution", {"answer": "confirm"}, case="l1_resolved"),
            ),
            Entry(
                "portal.resolution.anonymous",
                "confirm the resolution without a portal session",
                "POST",
                "/portal/requests/<pk>/resolution/",
                "portal:resolution",
                PORTAL_OUT,
                _portal(None, "resolution", {"answer": "confirm"}, case="l1_resolved"),
            ),
            Entry(
                "portal.survey",
                "survey in the portal, as the requester",
                "GET",
                "/portal/requests/<pk>/survey/",
                "portal:survey",
                "200 " * 8 + "200",
                _portal("own", "survey", case="l1_resolved"),
            ),
            Entry(
                "portal.survey.post",
                "answer the survey, as the requester",
                "POST",
                "/portal/requests/<pk>/survey/",
                "portal:survey",
                "done " * 8 + "done",
                _portal("own", "survey", {"score": "4"}, case="l1_resolved"),
            ),
            Entry(
                "portal.survey.post.other",
                "answer the survey, as another requester",
                "POST",
                "/portal/requests/<pk>/survey/",
                "portal:survey",
                "404 " * 8 + "404",
                _portal("other", "survey", {"score": "1"}, case="l1_resolved"),
            ),
            Entry(
                "portal.attachment",
                "the requester's own file",
                "GET",
                "/portal/requests/<pk>/files/<pk>/",
                "portal:attachment",
                "200 " * 8 + "200",
                _portal_file("own"),
            ),
            Entry(
                "portal.attachment.other",
                "a file, as another requester",
                "GET",
                "/portal/requests/<pk>/files/<pk>/",
                "portal:attachment",
                "404 " * 8 + "404",
                _portal_file("other"),
            ),
            Entry(
                "portal.survey-link",
                "the e-mailed survey link (no sign-in)",
                "GET",
                "/portal/survey/<token>/",
                "portal:survey-link",
                "200 " * 8 + "200",
                _survey_link(),
            ),
            Entry(
                "portal.survey-link.post",
                "answer through the e-mailed survey link",
                "POST",
                "/portal/survey/<token>/",
                "portal:survey-link",
                "done " * 8 + "done",
                _survey_link({"score": "5"}),
            ),
            Entry(
                "portal.survey-link.forged",
                "a forged survey link",
                "POST",
                "/portal/survey/<token>/",
                "portal:survey-link",
                "404 " * 8 + "404",
                lambda w: Req(reverse("portal:survey-link", args=["forged:x"]), {"score": "5"}),
            ),
        ),
    ),
    Section(
        "Admin: site, reports, audit, what-if",
        "Every role's user is staff (``is_staff``) and may open the "
        "admin; what they see there follows their model permissions. Reports and the policy what-if need "
        "the Manager role (``manage_desk``); the audit pages need ``view_audit`` (Auditor, Manager); "
        "superusers pass every check.",
        (
            Entry("admin.index", "admin index", "GET", "/admin/", "admin:index", ALL_200, get("admin:index")),
            Entry(
                "admin.login",
                "admin sign-in",
                "GET",
                "/admin/login/",
                "admin:login",
                "200 →admin →admin →admin →admin →admin →admin →admin →admin",
                get("admin:login"),
            ),
            Entry(
                "admin.logout",
                "admin sign-out",
                "POST",
                "/admin/logout/",
                "admin:logout",
                "→admin 200 200 200 200 200 200 200 200",
                lambda w: Req(reverse("admin:logout"), {}),
            ),
            Entry(
                "admin.password",
                "change own password",
                "GET",
                "/admin/password_change/",
                "admin:password_change",
                ALL_200,
                get("admin:password_change"),
            ),
            Entry(
                "admin.password-done",
                "password changed",
                "GET",
                "/admin/password_change/done/",
                "admin:password_change_done",
                ALL_200,
                get("admin:password_change_done"),
            ),
            Entry(
                "admin.jsi18n",
                "admin JavaScript catalogue",
                "GET",
                "/admin/jsi18n/",
                "admin:jsi18n",
                ALL_200,
                get("admin:jsi18n"),
            ),
            Entry(
                "admin.autocomplete",
                "case autocomplete (knowledge article form)",
                "GET",
                "/admin/autocomplete/",
                "admin:autocomplete",
                ALL_200,
                _autocomplete,
            ),
            Entry(
                "admin.view-on-site",
                "view a case on the site",
                "GET",
                "/admin/r/<ct>/<pk>/",
                "admin:view_on_site",
                "login 404 404 404 404 404 404 404 404",
                _view_on_site,
            ),
            Entry(
                "admin.app.escalations",
                "app index: escalations",
                "GET",
                "/admin/escalations/",
                "admin:app_list",
                ALL_200,
                get("admin:app_list", "escalations"),
            ),
            Entry(
                "admin.app.auth",
                "app index: auth",
                "GET",
                "/admin/auth/",
                "admin:app_list",
                "login 404 404 404 404 404 200 404 200",
                get("admin:app_list", "auth"),
            ),
            Entry(
                "admin.app.django_q",
                "app index: django_q",
                "GET",
                "/admin/django_q/",
                "admin:app_list",
                "login 404 404 404 404 404 404 404 200",
                get("admin:app_list", "django_q"),
            ),
            Entry(
                "admin.app.axes",
                "app index: axes",
                "GET",
                "/admin/axes/",
                "admin:app_list",
                "login 404 404 404 404 404 404 404 200",
                get("admin:app_list", "axes"),
            ),
            Entry(
                "admin.unknown",
                "an admin URL that does not exist",
                "GET",
                "/admin/nothing/",
                "<admin/(?P<url>.*)$>",
                "login 404 404 404 404 404 404 404 404",
                lambda w: Req("/admin/nothing/"),
            ),
            Entry(
                "reports.index",
                "reports index",
                "GET",
                "/admin/reports/",
                "reports-index",
                "login 403 403 403 403 403 200 403 200",
                get("reports-index"),
            ),
            Entry(
                "reports.detail",
                "a report",
                "GET",
                "/admin/reports/<name>/",
                "reports-detail",
                "login 403 403 403 403 403 200 403 200",
                report_page(),
            ),
            Entry(
                "reports.csv",
                "a report table as CSV",
                "GET",
                "/admin/reports/<name>/<table>.csv",
                "reports-csv",
                "login 403 403 403 403 403 200 403 200",
                report_page(csv=True),
            ),
            Entry(
                "reports.forecast",
                "the staffing forecast",
                "GET",
                "/admin/reports/forecast/",
                "reports-detail",
                "login 403 403 403 403 403 200 403 200",
                report_page(name="forecast"),
            ),
            Entry(
                "reports.forecast.csv",
                "a staffing forecast table as CSV",
                "GET",
                "/admin/reports/forecast/<table>.csv",
                "reports-csv",
                "login 403 403 403 403 403 200 403 200",
                report_page(csv=True, name="forecast"),
            ),
            Entry(
                "audit.log",
                "audit log",
                "GET",
                "/admin/audit/",
                "audit-log",
                "login 403 403 403 403 403 200 200 200",
                get("audit-log"),
            ),
            Entry(
                "audit.export",
                "audit log as CSV",
                "GET",
                "/admin/audit/?export=csv",
                "audit-log",
                "login 403 403 403 403 403 200 200 200",
                lambda w: Req(reverse("audit-log") + "?export=csv"),
            ),
            Entry(
                "audit.trail",
                "one case's trail (every record type, filterable, CSV/JSON)",
                "GET",
                "/admin/audit/case/?case=<pk>",
                "audit-case-trail",
                "login 403 403 403 403 403 200 200 200",
                lambda w: Req(reverse("audit-case-trail") + f"?case={w.l1_new.pk}"),
            ),
            Entry(
                "audit.verify",
                "verify the audit chains",
                "GET",
                "/admin/audit/verify/",
                "audit-verify",
                "login 403 403 403 403 403 200 200 200",
                get("audit-verify"),
            ),
            Entry(
                "whatif",
                "policy what-if",
                "GET",
                "/admin/escalations/scoringpolicy/whatif/",
                "admin:escalations_scoringpolicy_whatif",
                "login 403 403 403 403 403 200 403 200",
                get("admin:escalations_scoringpolicy_whatif"),
            ),
        ),
    ),
    Section(
        "Admin: case buttons, approval decisions, list actions",
        "A button needs the role's permission "
        "(else 403: auditors hold none) and then the workflow's conditions on this case now (else "
        "``refused``). Rows of a case out of the user's scope are missing (``gone``), as on the staff pages.",
        (
            Entry(
                "admin.act.form",
                "escalate form (L1 case)",
                "GET",
                "/admin/escalations/case/<pk>/act/escalate/",
                "admin:escalations_case_act",
                "login 200 200 200 200 200 200 403 200",
                lambda w: Req(admin_act("l1_working", "escalate")(w).url),
            ),
            Entry(
                "admin.act.take",
                "take (new L1 case)",
                "POST",
                "…/act/take/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_new", "take"),
            ),
            Entry(
                "admin.act.escalate",
                "escalate (L1 case)",
                "POST",
                "…/act/escalate/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "escalate", **HANDOFF_FIELDS),
            ),
            Entry(
                "admin.act.accept",
                "accept (handoff waiting at L2)",
                "POST",
                "…/act/accept/",
                "admin:escalations_case_act",
                "login gone done refused refused refused done 403 done",
                admin_act("l1_escalated", "accept"),
            ),
            Entry(
                "admin.act.return",
                "return (handoff waiting at L2)",
                "POST",
                "…/act/return/",
                "admin:escalations_case_act",
                "login gone done refused refused refused done 403 done",
                admin_act("l1_escalated", "return", reason="Try the runbook first"),
            ),
            Entry(
                "admin.act.de-escalate",
                "de-escalate (L2 case in progress)",
                "POST",
                "…/act/de-escalate/",
                "admin:escalations_case_act",
                "login gone done refused refused refused done 403 done",
                admin_act("l2_working", "de-escalate", reason="L1 can finish it", to_level=""),
            ),
            Entry(
                "admin.act.assign",
                "assign (L1 case, to the L1 agent)",
                "POST",
                "…/act/assign/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "assign", assignee=lambda w: w.user("agent").pk),
            ),
            Entry(
                "admin.act.invite",
                "invite a team (L1 case)",
                "POST",
                "…/act/invite/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "invite", collaborator=lambda w: f"t{w.l2_team.pk}", reason="Second look"),
            ),
            Entry(
                "admin.act.pause",
                "await customer (L1 case)",
                "POST",
                "…/act/pause/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "pause", reason="Waiting for logs"),
            ),
            Entry(
                "admin.act.resume",
                "resume (paused L1 case)",
                "POST",
                "…/act/resume/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_paused", "resume", reason=""),
            ),
            Entry(
                "admin.act.resolve",
                "resolve (L1 case)",
                "POST",
                "…/act/resolve/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "resolve", summary="Replaced the cable"),
            ),
            Entry(
                "admin.act.reopen",
                "reopen (resolved L1 case)",
                "POST",
                "…/act/reopen/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_resolved", "reopen", reason="Broke again"),
            ),
            Entry(
                "admin.act.close",
                "close (resolved L1 case)",
                "POST",
                "…/act/close/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_resolved", "close"),
            ),
            Entry(
                "admin.act.note",
                "internal note (L1 case)",
                "POST",
                "…/act/note/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "note", body="Checked the router."),
            ),
            Entry(
                "admin.act.public-update",
                "public update (L1 case)",
                "POST",
                "…/act/public-update/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "public-update", body="On it."),
            ),
            Entry(
                "admin.act.record-contact",
                "record a phone contact (L1 case)",
                "POST",
                "…/act/record-contact/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "record-contact", note="Called the customer."),
            ),
            Entry(
                "admin.act.classify",
                "accept or change the suggested classification (L1 case)",
                "POST",
                "…/act/classify/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_suggested", "classify", category=lambda w: w.category.pk, priority="2"),
            ),
            Entry(
                "admin.act.change-priority",
                "change the priority (L1 case)",
                "POST",
                "…/act/change-priority/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "change-priority", priority="2", reason="VIP customer"),
            ),
            Entry(
                "admin.act.request-approval",
                "request approval (L1 case)",
                "POST",
                "…/act/request-approval/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "request-approval", kind="spend", amount="500", description="Router"),
            ),
            Entry(
                "admin.act.end-major-incident",
                "end the major incident (L1 case; Executive only)",
                "POST",
                "…/act/end-major-incident/",
                "admin:escalations_case_act",
                "login refused refused refused refused done refused 403 refused",
                admin_act("l1_major", "end-major-incident", reason="Service restored"),
            ),
            Entry(
                "admin.act.take.L3",
                "take (L3 case)",
                "POST",
                "…/act/take/",
                "admin:escalations_case_act",
                "login gone gone done done done done 403 done",
                admin_act("l3_working", "take"),
            ),
            Entry(
                "admin.act.note.L3-invited",
                "internal note (L3 case the agent is invited to)",
                "POST",
                "…/act/note/",
                "admin:escalations_case_act",
                "login done gone done done done done 403 done",
                admin_act("l3_collab", "note", body="I know this customer."),
            ),
            Entry(
                "admin.act.follow",
                "follow (L1 case)",
                "POST",
                "…/act/follow/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_working", "follow"),
            ),
            Entry(
                "admin.act.unfollow",
                "unfollow (L1 case everyone follows)",
                "POST",
                "…/act/unfollow/",
                "admin:escalations_case_act",
                WORKERS,
                admin_act("l1_followed", "unfollow"),
            ),
            Entry(
                "admin.authority-change.decide",
                "approve a pending authority change (proposed by another manager)",
                "POST",
                "/admin/escalations/authoritychange/<pk>/decide/approve/",
                "admin:escalations_authoritychange_decide",
                "login 403 403 403 403 403 done 403 done",
                _decide_change,
            ),
            Entry(
                "admin.decide.L1",
                "approve (L1 case, spend 500: L2 and above)",
                "POST",
                "/admin/escalations/approvalrequest/<pk>/decide/approve/",
                "admin:escalations_approvalrequest_decide",
                "login 403 done done done done refused 403 refused",
                admin_decide(_l1_approval),
            ),
            Entry(
                "admin.decide.L3",
                "approve (L3 case, spend 500)",
                "POST",
                "…/decide/approve/",
                "admin:escalations_approvalrequest_decide",
                "login gone gone done done done refused 403 refused",
                admin_decide(_l3_approval),
            ),
            Entry(
                "admin.holidays",
                "calendar list action: load public holidays",
                "POST",
                "/admin/escalations/businesscalendar/",
                "admin:escalations_businesscalendar_changelist",
                "login 200 200 200 200 200 done 200 done",
                _load_holidays,
            ),
            Entry(
                "admin.delete-selected",
                "category list action: delete selected",
                "POST",
                "/admin/escalations/category/",
                "admin:escalations_category_changelist",
                "login 200 200 200 200 200 done 200 done",
                _delete_selected,
            ),
        ),
    ),
    Section(
        "Admin: the desk's models",
        "Every role may view every model of the desk (``view_*``). Configuration "
        "(mailboxes included) is added, changed and deleted by managers; the knowledge base is written by "
        "everyone who works cases and deleted by superusers only; the records the workflow and automation "
        "write (cases, handoffs, notes, approvals, reviews, collaborations, outbox, firings, heartbeat, risk "
        "models, audit heads and seals, messages read from mailboxes, requesters' files) are read-only for "
        "everyone, superusers included. Rows of a case follow the case's scope. Past versions can be read but "
        "never saved back (any POST there is 403).",
        (
            Family("model.changelist", "list", "GET", "changelist", CONFIG + RECORDS + KB + FOUR_EYES, ALL_200),
            Family("model.add", "add form", "GET", "add", CONFIG, "login 403 403 403 403 403 200 403 200"),
            Family("model.add", "add form", "GET", "add", KB, "login 200 200 200 200 200 200 403 200"),
            Family("model.add", "add form", "GET", "add", RECORDS, "login 403 403 403 403 403 403 403 403"),
            Family("model.add", "add form", "GET", "add", FOUR_EYES, "login 403 403 403 403 403 200 403 200"),
            Family(
                "model.add.post",
                "add (empty form posted)",
                "POST",
                "add",
                CONFIG,
                "login 403 403 403 403 403 200 403 200",
            ),
            Family(
                "model.add.post", "add (empty form posted)", "POST", "add", KB, "login 200 200 200 200 200 200 403 200"
            ),
            Family(
                "model.add.post",
                "add (empty form posted)",
                "POST",
                "add",
                RECORDS,
                "login 403 403 403 403 403 403 403 403",
            ),
            Family(
                "model.add.post",
                "add (empty form posted)",
                "POST",
                "add",
                FOUR_EYES,
                "login 403 403 403 403 403 200 403 200",
            ),
            Family(
                "model.change",
                "change page (a row at L1)",
                "GET",
                "change",
                CONFIG + RECORDS + KB + FOUR_EYES,
                ALL_200,
            ),
            Family(
                "model.change.post",
                "change (empty form posted)",
                "POST",
                "change",
                CONFIG,
                "login 403 403 403 403 403 200 403 200",
            ),
            Family(
                "model.change.post",
                "change (empty form posted)",
                "POST",
                "change",
                KB,
                "login 200 200 200 200 200 200 403 200",
            ),
            Family(
                "model.change.post",
                "change (empty form posted)",
                "POST",
                "change",
                RECORDS + FOUR_EYES,
                "login 403 403 403 403 403 403 403 403",
            ),
            Family(
                "model.delete.post",
                "delete (confirmed)",
                "POST",
                "delete",
                CONFIG,
                "login 403 403 403 403 403 done 403 done",
            ),
            Family(
                "model.delete.post",
                "delete (confirmed)",
                "POST",
                "delete",
                KB,
                "login 403 403 403 403 403 403 403 done",
            ),
            Family(
                "model.delete.post",
                "delete (confirmed)",
                "POST",
                "delete",
                RECORDS + FOUR_EYES,
                "login 403 403 403 403 403 403 403 403",
            ),
            Family("model.history", "history", "GET", "history", CONFIG + RECORDS + KB + FOUR_EYES, ALL_200),
            Family("model.history-version", "a past version", "GET", "simple_history", HISTORY, ALL_200),
            Entry(
                "model.history-revert",
                "revert to a past version (level)",
                "POST",
                "/admin/escalations/level/<pk>/history/<id>/",
                "admin:escalations_level_simple_history",
                "login 403 403 403 403 403 403 403 403",
                _history_revert,
            ),
            Entry(
                "model.change.case.L3",
                "change page of an L3 case",
                "GET",
                "/admin/escalations/case/<pk>/change/",
                "admin:escalations_case_change",
                "login gone gone 200 200 200 200 200 200",
                _on_l3("case", "change"),
            ),
            Entry(
                "model.history.case.L3",
                "history of an L3 case",
                "GET",
                "/admin/escalations/case/<pk>/history/",
                "admin:escalations_case_history",
                "login 404 404 200 200 200 200 200 200",
                _on_l3("case", "history"),
            ),
            Entry(
                "model.change.note.L3",
                "a note on an L3 case",
                "GET",
                "/admin/escalations/note/<pk>/change/",
                "admin:escalations_note_change",
                "login gone gone 200 200 200 200 200 200",
                _on_l3("note", "change"),
            ),
            Entry(
                "model.change.escalation.L3",
                "a handoff of an L3 case",
                "GET",
                "/admin/escalations/escalation/<pk>/change/",
                "admin:escalations_escalation_change",
                "login gone gone 200 200 200 200 200 200",
                _on_l3("escalation", "change"),
            ),
            Entry(
                "model.change.approvalrequest.L3",
                "an approval on an L3 case",
                "GET",
                "/admin/escalations/approvalrequest/<pk>/change/",
                "admin:escalations_approvalrequest_change",
                "login gone gone 200 200 200 200 200 200",
                _on_l3("approvalrequest", "change"),
            ),
        ),
    ),
    Section(
        "REST API (/api/v1/)",
        "Token authentication only (a signed-in session is not enough): each role calls with a "
        "token of its own user carrying the scopes read and act (intake for the monitoring rows). "
        "Scopes cap what a token may do; the user's role and level decide the rest exactly as on "
        "the staff pages: the same scope (404 outside it), auditors change nothing (403), the "
        "workflow's refusals are 403 (permission) and 409 (stale version). The schema and its "
        "docs are public.",
        (
            Entry(
                "api.cases", "list cases", "GET", "/api/v1/cases/", "api:cases", "401" + " 200" * 8, _api("api:cases")
            ),
            Entry(
                "api.case.L1",
                "read an L1 case",
                "GET",
                "/api/v1/cases/<pk>/",
                "api:case",
                "401" + " 200" * 8,
                _api("api:case", "l1_working"),
            ),
            Entry(
                "api.case.L3",
                "read an L3 case",
                "GET",
                "/api/v1/cases/<pk>/",
                "api:case",
                "401 404 404 200 200 200 200 200 200",
                _api("api:case", "l3_working"),
            ),
            Entry(
                "api.open",
                "open a case",
                "POST",
                "/api/v1/cases/",
                "api:cases",
                "401 done done done done done done 403 done",
                _api("api:cases", data=_api_new_case),
            ),
            Entry(
                "api.open.read-token",
                "open a case with a read-only token",
                "POST",
                "/api/v1/cases/",
                "api:cases",
                "401" + " 403" * 8,
                _api("api:cases", data=_api_new_case, scopes="read"),
            ),
            Entry(
                "api.note.L1",
                "internal note on an L1 case",
                "POST",
                "/api/v1/cases/<pk>/notes/",
                "api:case-notes",
                "401 done done done done done done 403 done",
                _api("api:case-notes", "l1_working", {"body": "Checked the cable."}),
            ),
            Entry(
                "api.note.L3",
                "internal note on an L3 case",
                "POST",
                "/api/v1/cases/<pk>/notes/",
                "api:case-notes",
                "401 404 404 done done done done 403 done",
                _api("api:case-notes", "l3_working", {"body": "Checked the cable."}),
            ),
            Entry(
                "api.act.take.L1",
                "an action (take) on a new L1 case",
                "POST",
                "/api/v1/cases/<pk>/actions/<slug>/",
                "api:case-action",
                "401 done done done done done done 403 done",
                _api("api:case-action", "l1_new", lambda w: {"version": w.l1_new.version}, args=["take"]),
            ),
            Entry(
                "api.act.take.L1.read-token",
                "the same with a read-only token",
                "POST",
                "/api/v1/cases/<pk>/actions/<slug>/",
                "api:case-action",
                "401" + " 403" * 8,
                _api("api:case-action", "l1_new", lambda w: {"version": w.l1_new.version}, "read", ["take"]),
            ),
            Entry(
                "api.act.take.L1.stale",
                "the same with a stale version",
                "POST",
                "/api/v1/cases/<pk>/actions/<slug>/",
                "api:case-action",
                "401 409 409 409 409 409 409 403 409",
                _api("api:case-action", "l1_working", {"version": 0}, args=["take"]),
            ),
            Entry(
                "api.act.take.L3",
                "an action (take) on an L3 case",
                "POST",
                "/api/v1/cases/<pk>/actions/<slug>/",
                "api:case-action",
                "401 404 404 done done done done 403 done",
                _api("api:case-action", "l3_working", lambda w: {"version": w.l3_working.version}, args=["take"]),
            ),
            Entry(
                "api.act.de-escalate.L2",
                "de-escalate an L2 case",
                "POST",
                "/api/v1/cases/<pk>/actions/<slug>/",
                "api:case-action",
                "401 404 done 403 403 403 done 403 done",
                _api(
                    "api:case-action",
                    "l2_working",
                    lambda w: {"version": w.l2_working.version, "to_level": "L1", "reason": "Back to L1"},
                    args=["de-escalate"],
                ),
            ),
            Entry(
                "api.intake.alertmanager",
                "monitoring intake: Alertmanager",
                "POST",
                "/api/v1/intake/alertmanager",
                "api:intake-alertmanager",
                "401 done done done done done done 403 done",
                _api("api:intake-alertmanager", data=_alert, scopes="intake"),
            ),
            Entry(
                "api.intake.grafana",
                "monitoring intake: Grafana",
                "POST",
                "/api/v1/intake/grafana",
                "api:intake-grafana",
                "401 done done done done done done 403 done",
                _api("api:intake-grafana", data=_alert, scopes="intake"),
            ),
            Entry(
                "api.intake.generic",
                "monitoring intake: generic JSON",
                "POST",
                "/api/v1/intake/generic",
                "api:intake-generic",
                "401 done done done done done done 403 done",
                _api("api:intake-generic", data=_alert, scopes="intake"),
            ),
            Entry(
                "api.intake.read-token",
                "monitoring intake with a read/act token",
                "POST",
                "/api/v1/intake/generic",
                "api:intake-generic",
                "401" + " 403" * 8,
                _api("api:intake-generic", data=_alert),
            ),
            Entry("api.schema", "OpenAPI schema", "GET", "/api/v1/schema/", "api:schema", ALL_OPEN, get("api:schema")),
            Entry("api.docs", "Swagger UI", "GET", "/api/v1/docs/", "api:docs", ALL_OPEN, get("api:docs")),
            Entry("api.redoc", "Redoc", "GET", "/api/v1/redoc/", "api:redoc", ALL_OPEN, get("api:redoc")),
        ),
    ),
    Section(
        "Admin: API tokens",
        "Superusers only: adding one shows the token once; the list shows prefixes, never tokens.",
        (
            Family(
                "token.changelist",
                "list",
                "GET",
                "changelist",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "token.add",
                "add form",
                "GET",
                "add",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "token.change",
                "change page",
                "GET",
                "change",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "token.history",
                "history",
                "GET",
                "history",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "token.history-version",
                "a past version",
                "GET",
                "simple_history",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "token.delete.post",
                "delete (confirmed)",
                "POST",
                "delete",
                ("escalations.apitoken",),
                "login 403 403 403 403 403 403 403 done",
            ),
        ),
    ),
    Section(
        "Admin: saved queue filters",
        "Each user keeps their own on the queue pages; superusers may list them and delete one, nobody "
        "adds or edits one in the admin.",
        tuple(
            Family(f"savedfilter.{key}", label, method, view, ("escalations.savedqueuefilter",), expect)
            for key, label, method, view, expect in (
                ("changelist", "list", "GET", "changelist", "login 403 403 403 403 403 403 403 200"),
                ("add", "add form", "GET", "add", "login 403 403 403 403 403 403 403 403"),
                ("change", "change page (read only)", "GET", "change", "login 403 403 403 403 403 403 403 200"),
                ("history", "history", "GET", "history", "login 403 403 403 403 403 403 403 200"),
                ("delete.post", "delete (confirmed)", "POST", "delete", "login 403 403 403 403 403 403 403 done"),
            )
        ),
    ),
    Section(
        "Admin: other apps' models",
        "Users and groups, django-q2's task tables and django-axes' sign-in "
        "records are the superuser's; managers may view users.",
        (
            Family(
                "other.changelist", "list", "GET", "changelist", ("auth.user",), "login 403 403 403 403 403 200 403 200"
            ),
            Family(
                "other.changelist",
                "list",
                "GET",
                "changelist",
                THIRD_PARTY[1:],
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "other.add",
                "add form",
                "GET",
                "add",
                ("auth.user", "auth.group", "django_q.schedule"),
                "login 403 403 403 403 403 403 403 200",
            ),
            Family(
                "other.change", "change page", "GET", "change", ("auth.user",), "login 403 403 403 403 403 200 403 200"
            ),
            Family(
                "other.change", "change page", "GET", "change", ("auth.group",), "login 403 403 403 403 403 403 403 200"
            ),
            Family(
                "other.change.post",
                "change (empty form posted)",
                "POST",
                "change",
                ("auth.user", "auth.group"),
                "login 403 403 403 403 403 403 403 200",
            ),
        ),
    ),
)


def entries() -> list[Entry]:
    out = []
    for section in MATRIX:
        for row in section.rows:
            out.extend(row.entries() if isinstance(row, Family) else [row])
    return out


ENTRIES = entries()


# -- checking one cell -----------------------------------------------------------------------


def fingerprint() -> tuple:
    """Row counts of every table a request could write (history, audit, m2m and admin log
    included) and each case's version: a refused POST must leave all of them as they were."""
    tables = sorted(
        {
            m._meta.db_table
            for m in apps.get_models(include_auto_created=True)
            if m._meta.app_label in ("escalations", "auth", "admin", "django_q") and m._meta.managed
        }
    )
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # one round trip for some eighty tables
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables))
        counts = tuple(zip(tables, cursor.fetchone()))
    cases = list(Case.objects.order_by("pk").values_list("pk", "version", "status", "level_id", "assignee_id"))
    approvals = list(ApprovalRequest.objects.order_by("pk").values_list("pk", "status"))
    reviews = list(Review.objects.order_by("pk").values_list("pk", "status"))
    return counts, cases, approvals, reviews


def route_of(url: str) -> str:
    match = resolve(url.split("?")[0])
    return match.view_name if match.url_name else f"<{match.route}>"


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.key for e in ENTRIES])
def test_matrix(client, request, entry: Entry, role: str):
    world = World(request)
    world.role = role
    req = entry.build(world)
    assert route_of(req.url) == entry.route, "the entry requests another URL pattern than it documents"
    api = entry.route.startswith("api:")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {req.token}"} if req.token else {}
    if role != "anonymous" and not api:
        client.force_login(world.user(role))
    if entry.method == "GET":
        before = after = None
        response = client.get(req.url, **headers)
    else:
        before = fingerprint()
        if api:
            response = client.post(req.url, json.dumps(req.data or {}), content_type="application/json", **headers)
        else:
            response = client.post(req.url, req.data or {})
        after = fingerprint()
    expected = entry.outcome(role)
    where = f"{entry.key} as {role}: expected {expected}, got {response.status_code} {response.get('Location', '')}"
    if expected == "done":
        wanted = (200, 201) if api else (200 if entry.route in DONE_200 else 302,)
        assert response.status_code in wanted, where
        assert after != before, f"{where}: nothing changed"
    elif expected == "login":
        login = reverse("admin:login") if req.url.startswith("/admin/") else reverse("login")
        assert response.status_code == 302 and response["Location"].startswith(f"{login}?next="), where
    elif expected == "gone":
        assert response.status_code == 302 and response["Location"] == reverse("admin:index"), where
    elif expected == "refused":
        assert response.status_code == 302 and response["Location"] == req.back, where
    elif expected in REDIRECTS:
        assert response.status_code == 302 and response["Location"] == reverse(REDIRECTS[expected]), where
    else:
        assert response.status_code == int(expected), where
    if entry.method == "POST" and expected != "done":
        assert after == before, f"{where}: a refused request changed the database"


# -- the matrix is complete, and documented --------------------------------------------------


def project_routes() -> set[str]:
    """Every URL pattern of the project, as a URL name (namespaced) or, unnamed, its pattern."""
    found = set()

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                found.add(f"{namespace}{p.name}" if p.name else f"<{prefix}{p.pattern}>")

    walk(get_resolver().url_patterns)
    return found


# Django's and other apps' own admin pages not tried one by one: they follow the model
# permissions their list and change pages above already show (superuser only).
OTHER_APPS_EXEMPT = re.compile(
    r"admin:(auth_(user|group)_(delete|history)|auth_user_password_change"
    r"|(django_q|axes)_\w+_(add|change|delete|history))$"
    r"|<admin/(auth|django_q|axes|escalations)/\w+/<path:object_id>/>$"  # old URLs: redirect to the change page
)


def test_every_url_pattern_is_in_the_matrix():
    covered = {e.route for e in ENTRIES}
    missing = sorted(r for r in project_routes() - covered if not OTHER_APPS_EXEMPT.match(r))
    assert not missing, f"URL patterns the authorization matrix does not cover: {missing}"


def test_every_registered_admin_model_is_in_the_matrix():
    registered = {m._meta.label_lower for m in admin.site._registry}
    listed = {
        model
        for section in MATRIX
        for row in section.rows
        if isinstance(row, Family) and row.view == "changelist"
        for model in row.models
    }
    assert registered <= listed, sorted(registered - listed)


def test_every_case_action_is_in_the_matrix():
    actions = {a.slug for a in catalogue.case_page_actions()}
    staff = {e.key.split(".")[1] for e in ENTRIES if e.key.startswith("act.")}
    assert actions <= staff, sorted(actions - staff)
    admin_side = {e.key.split(".")[2] for e in ENTRIES if e.key.startswith("admin.act.")}
    assert actions <= admin_side, sorted(actions - admin_side)


def render_doc_tables() -> str:
    out = ["Outcomes:", ""]
    out += [f"- `{k}`: {v}" for k, v in OUTCOMES.items()]
    for section in MATRIX:
        out += [
            "",
            f"### {section.title}",
            "",
            section.rules,
            "",
            "| page / action | method | URL | " + " | ".join(HEADER) + " |",
            "|---|---|---|" + "---|" * len(HEADER),
        ]
        for row in section.rows:
            if isinstance(row, Family):
                label = f"{row.label}: " + ", ".join(f"`{m}`" for m in row.models)
                path = f"/admin/&lt;app&gt;/&lt;model&gt;/ ({row.view})"
            else:
                label, path = row.label, row.path.replace("<", "&lt;").replace(">", "&gt;")
            out.append(f"| {label} | {row.method} | {path} | " + " | ".join(row.expect.split()) + " |")
    return "\n".join(out)


START, END = "<!-- matrix:start (generated from tests/test_authorization_matrix.py) -->", "<!-- matrix:end -->"


def test_the_documented_matrix_is_the_tested_one():
    text = DOC.read_text()
    assert START in text and END in text
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    wanted = f"{head}{START}\n{render_doc_tables()}\n{END}{tail}"
    if os.environ.get("WRITE_AUTHZ_DOC"):
        DOC.write_text(wanted)
    assert text == wanted, "docs/authorization.md differs from MATRIX: run with WRITE_AUTHZ_DOC=1 to rewrite it"


def test_every_cell_is_a_known_outcome():
    for entry in ENTRIES:
        cells = entry.expect.split()
        assert len(cells) == len(ROLES), entry.key
        assert set(cells) <= set(OUTCOMES), (entry.key, set(cells) - set(OUTCOMES))
    assert len({e.key for e in ENTRIES}) == len(ENTRIES), "entry keys must be unique"


# -- scope beyond status codes ----------------------------------------------------------------


def test_queues_and_lists_show_only_cases_in_scope(client, request, agent, specialist):
    """A case above the user's level leaves no trace in their queues, their approvals to
    decide, or the admin lists of cases and of a case's rows."""
    world = World(request)
    secret = world.at_l3("Top secret outage")
    world.approval(secret)  # spend 500: routed to L2, but the case is at L3
    workflow.case_note(case_id=secret.pk, actor=world.boss, body="Top secret note")
    for user in (agent, specialist):
        client.force_login(user)
        for url in (
            reverse("team-queue") + "?status=in_progress",
            reverse("my-queue"),
            reverse("team-queue") + f"?q=%23{secret.pk}",
            reverse("admin:escalations_case_changelist"),
            reverse("admin:escalations_note_changelist"),
            reverse("admin:escalations_approvalrequest_changelist"),
            reverse("admin:escalations_escalation_changelist"),
            reverse("admin:autocomplete") + "?app_label=escalations&model_name=knowledgearticle"
            "&field_name=cases&term=secret",
        ):
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            assert b"Top secret" not in response.content, (user.username, url)
    client.force_login(request.getfixturevalue("senior"))
    assert b"Top secret outage" in client.get(reverse("admin:escalations_case_changelist")).content
