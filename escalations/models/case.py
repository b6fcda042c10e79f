"""The case and its state machine. Transitions set fields and check conditions only:
no I/O and no save; ``escalations.workflow`` is the only caller."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from escalations.audit.records import audited_history
from escalations.core.text import OneLineFieldsMixin
from escalations.domain import authority
from escalations.models import snapshots
from escalations.models.choices import (
    OPEN_STATUSES,
    CaseStatus,
    Complexity,
    CustomerTier,
    Impact,
    Priority,
    Urgency,
    WaitKind,
)
from escalations.models.indexes import where_set
from escalations.models.lifetime import LifetimeClass
from escalations.models.limits import text_field
from escalations.models.organisation import Category, Level, Team
from escalations.models.policy import EscalationPath
from escalations.models.snapshots import PolicySnapshot

S = CaseStatus


class CaseQuerySet(models.QuerySet):
    def open(self) -> CaseQuerySet:
        return self.filter(status__in=OPEN_STATUSES)

    def due(self, now: datetime) -> CaseQuerySet:
        """Cases a sweep must look at: served by the partial index on ``next_check_at``."""
        return self.filter(next_check_at__lte=now)

    def visible_to(self, user) -> CaseQuerySet:
        """Managers and auditors see every case; staff see their level and below (by level
        id, no join, so the (level, status) index serves), the cases they or one of
        their teams were invited to work on, and, read-only, the cases they follow: the
        ones they opened, escalated, or pressed "Follow" on (``followed_by``)."""
        levels = self.visible_levels(user)
        if levels is None:
            return self
        invited = Case.objects.filter(
            models.Q(collaborations__user=user) | models.Q(collaborations__team__members=user),
            collaborations__is_active=True,
        ).values("pk")
        return self.filter(models.Q(level_id__in=levels) | models.Q(pk__in=invited) | Case.objects.followed_by(user))

    def visible_levels(self, user) -> list[int] | None:
        """The level ids whose every case ``user`` sees (None: all cases, for managers and
        auditors); ``visible_to`` adds the invited and followed cases."""
        if authority.is_manager(user) or user.has_perm("escalations.view_audit"):
            return None
        level = authority.user_level(user)
        return [lv.pk for lv in Level.objects.ladder() if level is not None and lv.rank <= level.rank]

    def followed_by(self, user) -> models.Q:
        """The cases ``user`` keeps read access to without working them: opened by them,
        escalated by them, or followed (``watchers``). Each part is a small indexed lookup
        (no join of the case table with its handoffs, which would scan every case)."""
        escalation = Case.escalations.field.model  # records.py imports this module
        return (
            models.Q(created_by=user)
            | models.Q(pk__in=Case.watchers.through.objects.filter(user=user).values("case_id"))
            | models.Q(pk__in=escalation.objects.filter(raised_by=user).order_by().values("case_id"))
        )


def _not_top(case: Case) -> bool:
    return case.level.next_level() is not None


def _not_bottom(case: Case) -> bool:
    return case.level.previous_level() is not None


class Case(OneLineFieldsMixin, ConcurrentTransitionMixin, models.Model):
    # Titles and names end up in e-mail subjects: one line, no control characters.
    one_line_fields = ("title", "requester_name")

    # What the issue is.
    title = models.CharField(max_length=200)
    description = text_field(blank=True)
    requester_name = models.CharField(max_length=120)
    requester_email = models.EmailField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases")
    impact = models.PositiveSmallIntegerField(choices=Impact.choices, default=Impact.MEDIUM)
    urgency = models.PositiveSmallIntegerField(choices=Urgency.choices, default=Urgency.MEDIUM)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MODERATE)
    complexity = models.CharField(max_length=16, choices=Complexity.choices, default=Complexity.MEDIUM)
    customer_tier = models.CharField(max_length=16, choices=CustomerTier.choices, default=CustomerTier.STANDARD)
    business_impact = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="0 none, 1 minor, 2 significant, 3 severe (feeds the queue score)."
    )
    score = models.FloatField(
        default=0, db_default=0.0, help_text="Queue order within equal SLA urgency; higher first."
    )

    # Where it is on the ladder and who holds it.
    # No index of their own: (level, status), (team, status) and (assignee, status) below
    # serve every lookup by these columns (docs/indexes.md); each index more is written by
    # every sweep update.
    status = FSMField(default=S.NEW, choices=S.choices, protected=True)
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="cases", db_index=False)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,
    )
    path = models.ForeignKey(EscalationPath, null=True, blank=True, on_delete=models.SET_NULL)
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_cases", through="escalations.CaseWatcher"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    # Counters the trigger rules read.
    reassignment_count = models.PositiveIntegerField(default=0, help_text="At the current level.")
    reopen_count = models.PositiveIntegerField(default=0)
    escalation_count = models.PositiveIntegerField(default=0)
    highest_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    # Where the case entered the ladder, how many handoffs it has had (escalations,
    # skip-level jumps, de-escalations; a return decides a handoff and adds none) and how
    # often it went down (returns, de-escalations): the flow and volume reports' figures,
    # kept on the case so the rollups count them (``rollups.schema``).
    # Both follow from the history and the handoffs, so the history does not copy them.
    entry_level = models.ForeignKey(
        Level, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    handoff_count = models.PositiveIntegerField(default=0, db_default=0)
    moved_down_count = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Returns and de-escalations: the times the case went down a level."
    )

    # The clocks (docs/counting-time.md). The policy in force at intake is frozen, so
    # editing a policy does not silently rewrite running cases; the frozen terms are shared
    # by every case that froze the same ones (``models.snapshots``): ``policy_snapshot``
    # reads and assigns them.
    policy = models.ForeignKey(
        PolicySnapshot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name="frozen SLA policy",
    )
    policy_snapshot = property(snapshots.terms_of, snapshots.set_terms)
    opened_at = models.DateTimeField(default=timezone.now)
    level_entered_at = models.DateTimeField(default=timezone.now)
    # The SLA, the customer's commitment: set at intake from policy x priority; only a
    # priority change (which restarts it at ``sla_started_at``) or a pause moves it.
    sla_started_at = models.DateTimeField(
        null=True, blank=True, help_text="The last priority change; blank: the SLA runs from opening."
    )
    first_response_at = models.DateTimeField(
        null=True, blank=True, help_text="First contact with the customer (public update, e-mail, recorded call)."
    )
    response_due_at = models.DateTimeField(null=True, blank=True, help_text="SLA: first response due.")
    resolution_due_at = models.DateTimeField(null=True, blank=True, help_text="SLA: resolution due.")
    response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    sla_changes = models.JSONField(
        null=True, blank=True, help_text="Why the SLA due times moved: [{at, clock, from, to, why}, ...]"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    waiting_on = models.CharField(
        max_length=16,
        blank=True,
        default="",
        db_default="",
        choices=WaitKind.choices,
        help_text="What the open wait is on (``CaseWait``).",
    )
    pauses = models.JSONField(default=list, blank=True, help_text="Closed pauses: [[start, end], ...]")
    # The OLA of the level holding the case: started when the level received it.
    responded_at = models.DateTimeField(null=True, blank=True, help_text="OLA: taken on at the current level.")
    ola_response_due_at = models.DateTimeField(null=True, blank=True, help_text="OLA: accept/response due.")
    ola_work_due_at = models.DateTimeField(null=True, blank=True, help_text="OLA: work at this level due.")
    ola_response_breached_at = models.DateTimeField(null=True, blank=True)
    ola_work_breached_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution_summary = text_field(blank=True)

    # Predictions and routing (escalations.intelligence): advisory, never state.
    breach_risk = models.FloatField(null=True, blank=True)
    escalation_risk = models.FloatField(null=True, blank=True)
    risk_reasons = models.JSONField(null=True, blank=True)
    risk_scored_at = models.DateTimeField(null=True, blank=True)
    routing_note = text_field(
        blank=True, default="", db_default="", help_text="Why the case went to this team and person."
    )

    # A requester wrote again after the case was closed: the new case names the old one.
    follow_up_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups", db_index=False
    )

    # A declared major incident (an approved major-incident declaration): on top of every
    # queue, P1 with its SLA counted from the declaration, a review before staff close it.
    # ``major_declared_at`` stays once set (it was a major incident); ``is_major`` ends with
    # an Executive's decision (``major_ended_at``, ``major_end_reason``).
    is_major = models.BooleanField(default=False, db_default=False)
    major_declared_at = models.DateTimeField(null=True, blank=True)
    major_ended_at = models.DateTimeField(null=True, blank=True)
    major_end_reason = text_field(blank=True, default="", db_default="")

    # Bumped by every workflow write: a stale form (or a second person) is detected by it.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    # Where it came from when imported from another system's event log.
    source = models.CharField(max_length=16, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    source_made_sla = models.BooleanField(
        null=True, blank=True, help_text="The source system's own SLA verdict, when imported."
    )

    objects = CaseQuerySet.as_manager()
    # ``next_check_at`` is the scheduler's bookmark, not a fact about the case; the frozen
    # policy is set once at intake (its name is in the "Opened" row's reason).
    history = audited_history(
        excluded_fields=[
            "updated_at",
            "next_check_at",
            "policy",
            "breach_risk",
            "escalation_risk",
            "risk_reasons",
            "risk_scored_at",
            "entry_level",
            "handoff_count",
            "moved_down_count",
        ],
        # The history is read by case (``id``), by date and user (the audit log) and by
        # assignee (routing; only the rows that name one are indexed): the other copied keys
        # keep no index (docs/indexes.md).
        no_db_index=["assignee", "category", "created_by", "follow_up_of", "highest_level", "level", "path", "team"],
        indexes=[where_set("assignee", "historicalcase_assignee")],
    )

    class Meta:
        ordering = ["-opened_at"]
        permissions = [
            ("work_case", "Can work cases at own level"),
            ("escalate_case", "Can escalate cases"),
            ("accept_escalation", "Can accept or return escalations"),
            ("deescalate_case", "Can de-escalate cases"),
            ("decide_approval", "Can decide approval requests"),
            ("close_case", "Can close cases"),
            ("review_case", "Can write post-escalation reviews"),
            ("manage_desk", "Can manage the desk (all cases, configuration)"),
            ("view_audit", "Can read the audit trail"),
        ]
        indexes = [
            # The search text's indexes are on ``CaseSearch`` (``models/search.py``).
            models.Index(
                fields=["next_check_at"],
                name="case_next_check_due",
                condition=models.Q(next_check_at__isnull=False),
            ),
            models.Index(fields=["level", "status"], name="case_level_status"),
            # A team's cases; with the ids, levels and handoff counts, the speed report's time
            # at each level under a team filter joins the cases the team holds that have a
            # handoff to their handoffs index-only.
            models.Index(fields=["team", "status"], include=["id", "level", "handoff_count"], name="case_team_status"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            # Who opened a case, which case it follows up: set on few cases, so only those
            # are indexed (a user's or a case's delete, "cases I opened", a case's follow-ups).
            where_set("created_by", "case_created_by"),
            where_set("follow_up_of", "case_follow_up_of"),
            # The major incidents head every queue: a handful of rows, found without a scan.
            models.Index(fields=["major_declared_at", "id"], name="case_major_open", condition=models.Q(is_major=True)),
            # Reports read these columns only: index-only scans instead of the wide rows.
            models.Index(
                fields=["opened_at"],
                name="case_report_cover",
                include=[
                    "id",
                    "level",
                    "highest_level",
                    "team",
                    "category",
                    "priority",
                    "status",
                    "source",
                    "escalation_count",
                    "reopen_count",
                    "source_made_sla",
                    "level_entered_at",
                    "first_response_at",
                    "responded_at",
                    "response_due_at",
                    "response_breached_at",
                    "resolution_due_at",
                    "resolution_breached_at",
                    "resolved_at",
                    "paused_at",
                ],
            ),
            # What the volume, resolution, speed and backlog passes read: eight columns are
            # cheaper to read than the twenty above (README "Reports" has the figures). Also
            # every range or order by ``opened_at`` (the plain index on it was a repeat).
            models.Index(
                fields=["opened_at"],
                name="case_report_narrow",
                include=[
                    "level",
                    "highest_level",
                    "team",
                    "category",
                    "priority",
                    "escalation_count",
                    "first_response_at",
                    "resolved_at",
                ],
            ),
            # The open cases (a few per cent) with what the bottlenecks report reads of them,
            # instead of one wide row each (the frozen policy makes a row ~1.8 kB).
            models.Index(
                fields=["team"],
                name="case_open_cover",
                condition=models.Q(status__in=OPEN_STATUSES),
                include=["id", "opened_at", "level_entered_at", "level", "category", "priority", "source"],
            ),
            # The cases open at a past moment (the bottlenecks report's backlog per team at the
            # end of a range): by lifetime class, then opening time (``models.lifetime``), with
            # what the report reads of them.
            models.Index(
                LifetimeClass(),
                F("opened_at"),
                name="case_lifetime",
                include=["resolved_at", "id", "team", "level", "category", "priority", "source", "level_entered_at"],
            ),
            # The major incidents report reads the cases declared in a range (a handful of rows).
            models.Index(
                fields=["major_declared_at"],
                name="case_major_declared",
                condition=models.Q(major_declared_at__isnull=False),
            ),
            # The live desk's "today so far": clocks that stopped today, or fell due today
            # and have not stopped (a day's rows, found without reading every case).
            models.Index(
                fields=["resolved_at"], name="case_resolved_at", condition=models.Q(resolved_at__isnull=False)
            ),
            models.Index(
                fields=["first_response_at"],
                name="case_first_response_at",
                condition=models.Q(first_response_at__isnull=False),
            ),
            models.Index(
                fields=["resolution_due_at"],
                name="case_resolution_due_running",
                condition=models.Q(resolved_at__isnull=True),
            ),
            models.Index(
                fields=["response_due_at"],
                name="case_response_due_running",
                condition=models.Q(first_response_at__isnull=True),
            ),
            # Resolution clocks running and not marked breached: past due at the report's moment,
            # the few the sweep has not marked yet (the live desk's breakdown by an attribute).
            models.Index(
                fields=["resolution_due_at"],
                name="case_resolution_unmarked",
                condition=models.Q(resolved_at__isnull=True, resolution_breached_at__isnull=True),
            ),
            # The clocks of the open cases, which the SLA report reads beside its rollups (a
            # clock running past its due time depends on the moment of the report).
            models.Index(
                fields=["opened_at"],
                name="case_open_clocks",
                condition=models.Q(status__in=OPEN_STATUSES),
                include=[
                    "level",
                    "team",
                    "category",
                    "priority",
                    "source",
                    "paused_at",
                    "first_response_at",
                    "response_due_at",
                    "response_breached_at",
                    "resolved_at",
                    "resolution_due_at",
                    "resolution_breached_at",
                    "responded_at",
                    "ola_response_due_at",
                    "ola_response_breached_at",
                    "ola_work_due_at",
                    "ola_work_breached_at",
                ],
            ),
            # Similar cases are looked for among the newest of a category (open ones at
            # intake, resolved ones on the case page): straight to them, whatever else is new.
            models.Index(
                fields=["category", "id"], name="case_open_by_category", condition=models.Q(status__in=OPEN_STATUSES)
            ),
            models.Index(
                fields=["category", "id"],
                name="case_resolved_by_category",
                condition=models.Q(status__in=["resolved", "closed"]),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(source=""),
                name="one_case_per_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def save(self, *args, **kwargs) -> None:
        if self.entry_level_id is None:  # a new case enters the ladder where it is opened
            self.entry_level_id = self.level_id
        snapshots.keep_pending([self], kwargs.get("using"))  # the frozen terms' row first
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def pending_escalation(self):
        return self.escalations.filter(status="pending").order_by("-created_at").first()

    # -- transitions: pure; the workflow layer locks, checks permission, saves ---------------

    def _enter_level(self, level: Level, team: Team | None, at: datetime) -> None:
        self.level = level
        self.team = team
        self.level_entered_at = at
        self.responded_at = None  # each level has its own OLA; the SLA does not move
        self.ola_response_breached_at = None
        self.ola_work_breached_at = None
        self.reassignment_count = 0
        if level.rank > self.highest_level.rank:
            self.highest_level = level

    def _respond(self, at: datetime) -> None:
        """The level took the case on (its OLA response); the customer has not heard yet."""
        if self.responded_at is None:
            self.responded_at = at

    def _contact_customer(self, at: datetime) -> None:
        """The customer heard from us: the SLA's first response (and the level's response)."""
        self._respond(at)
        if self.first_response_at is None:
            self.first_response_at = at

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS],
        target=S.IN_PROGRESS,
        permission=authority.can_work,
        custom={"verb": "take"},
    )
    def take(self, user, at: datetime) -> None:
        if self.assignee_id and self.assignee_id != user.pk:
            self.reassignment_count += 1
        self.assignee = user
        self._respond(at)

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS, S.AWAITING_CUSTOMER],
        target=None,
        permission=authority.can_work,
        custom={"verb": "assign"},
    )
    def assign(self, assignee, team: Team | None) -> None:
        if self.assignee_id and self.assignee_id != getattr(assignee, "pk", None):
            self.reassignment_count += 1
        self.assignee = assignee
        if team is not None:
            self.team = team

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS, S.AWAITING_CUSTOMER, S.ESCALATED],
        target=None,
        permission=authority.can_work,
        custom={"verb": "answer"},
    )
    def record_response(self, at: datetime) -> None:
        """Contact with the customer (a public update, a recorded call): the first one is
        the SLA's first response (status unchanged)."""
        self._contact_customer(at)

    def _set_priority(self, priority: int, at: datetime) -> None:
        """A new priority is a new commitment: the SLA restarts from now with its targets."""
        self.priority = priority
        self.sla_started_at = at

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS, S.AWAITING_CUSTOMER, S.ESCALATED],
        target=None,
        permission=authority.can_work,
        custom={"verb": "change the priority of"},
    )
    def change_priority(self, priority: int, at: datetime) -> None:
        if priority not in Priority.values:
            raise ValidationError({"priority": "Priority must be P1 to P4."})
        if priority == self.priority:
            raise ValidationError({"priority": f"The case is already P{priority}."})
        self._set_priority(priority, at)

    @transition(
        field=status,
        source=S.IN_PROGRESS,
        target=S.AWAITING_CUSTOMER,
        permission=authority.can_work,
        custom={"verb": "pause"},
    )
    def pause_for_customer(self, at: datetime) -> None:
        self.paused_at = at

    @transition(
        field=status,
        source=S.AWAITING_CUSTOMER,
        target=S.IN_PROGRESS,
        permission=authority.can_work,
        custom={"verb": "resume"},
    )
    def resume(self, at: datetime) -> None:
        self._end_pause(at)

    def _end_pause(self, at: datetime) -> None:
        if self.paused_at is not None:
            self.pauses = [*self.pauses, [self.paused_at.isoformat(), at.isoformat()]]
            self.paused_at = None

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS],
        target=S.ESCALATED,
        conditions=[_not_top],
        permission=authority.can_escalate,
        custom={"verb": "escalate"},
    )
    def escalate(self, to_level: Level, to_team: Team | None, at: datetime) -> None:
        if to_level.rank <= self.level.rank:
            raise ValidationError(f"{to_level} is not above {self.level}; escalation goes up.")
        self.escalation_count += 1
        self.handoff_count += 1
        self.assignee = None
        self._enter_level(to_level, to_team, at)

    @transition(
        field=status,
        source=S.ESCALATED,
        target=S.IN_PROGRESS,
        permission=authority.can_receive,
        custom={"verb": "accept"},
    )
    def accept(self, user, at: datetime) -> None:
        self.assignee = user
        self._respond(at)

    @transition(
        field=status,
        source=S.ESCALATED,
        target=S.IN_PROGRESS,
        permission=authority.can_receive,
        custom={"verb": "return"},
    )
    def return_escalation(self, to_level: Level, to_team: Team | None, assignee, at: datetime) -> None:
        """Send back to the level it came from (an over-escalation)."""
        self.moved_down_count += 1
        self._enter_level(to_level, to_team, at)
        self.assignee = assignee
        self.responded_at = at  # it was worked there already; the clock restarts as answered

    @transition(
        field=status,
        source=S.IN_PROGRESS,
        target=S.IN_PROGRESS,
        conditions=[_not_bottom],
        permission=authority.can_deescalate,
        custom={"verb": "de-escalate"},
    )
    def de_escalate(self, to_level: Level, to_team: Team | None, at: datetime) -> None:
        if to_level.rank >= self.level.rank:
            raise ValidationError(f"{to_level} is not below {self.level}; de-escalation goes down.")
        self.handoff_count += 1
        self.moved_down_count += 1
        self.assignee = None
        self._enter_level(to_level, to_team, at)

    @transition(
        field=status,
        source=[S.NEW, S.IN_PROGRESS, S.AWAITING_CUSTOMER],
        target=S.RESOLVED,
        permission=authority.can_work,
        custom={"verb": "resolve"},
    )
    def resolve(self, summary: str, at: datetime) -> None:
        if not summary.strip():
            raise ValidationError({"resolution_summary": "Say how the case was resolved."})
        self._end_pause(at)
        self.resolution_summary = summary.strip()
        self.resolved_at = at
        self._contact_customer(at)  # the resolution goes to the requester by e-mail

    @transition(
        field=status, source=S.RESOLVED, target=S.IN_PROGRESS, permission=authority.can_work, custom={"verb": "reopen"}
    )
    def reopen(self, at: datetime) -> None:
        self.reopen_count += 1
        self.resolved_at = None

    @transition(
        field=status, source=S.RESOLVED, target=S.CLOSED, permission=authority.can_close, custom={"verb": "close"}
    )
    def close(self, at: datetime) -> None:
        self.closed_at = at
