"""What happens to a case: handoffs, notes, approvals, reviews, knowledge."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from escalations.audit.records import audited_history
from escalations.core.text import OneLineFieldsMixin
from escalations.models import limits
from escalations.models.case import Case
from escalations.models.choices import (
    ApprovalKind,
    ApprovalStatus,
    EscalationKind,
    EscalationStatus,
    NoteKind,
    ReviewStatus,
)
from escalations.models.indexes import where_set
from escalations.models.limits import text_field
from escalations.models.organisation import Category, Level, Team

User = settings.AUTH_USER_MODEL


class Escalation(ConcurrentTransitionMixin, models.Model):
    """One handoff between levels, with the structured information the receiver needs."""

    # Looked up by (case, status): the index below serves "by case" too (docs/indexes.md).
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="escalations", db_index=False)
    kind = models.CharField(max_length=16, choices=EscalationKind.choices)
    status = FSMField(default=EscalationStatus.PENDING, choices=EscalationStatus.choices, protected=True)
    # The references to configuration and people carry no database constraint (migration
    # 0071): each one is checked at commit, about 5 us apiece, eight per handoff on the
    # sweep's hot path (issue 18). What they protected still holds: the ORM applies each
    # ``on_delete`` (a level in use cannot be deleted, a deleted team or rule leaves the
    # handoff without one), and the case's own level and team keep their constraints, so a
    # handoff's receiving level and team exist when it is written (tests/test_lean_keys.py).
    from_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    to_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+", db_constraint=False)
    from_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    to_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    from_assignee = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False
    )
    raised_by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank when a trigger rule escalated.",
        db_constraint=False,
    )
    rule = models.ForeignKey(
        "escalations.TriggerRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    reason = text_field(blank=True)
    # The handoff.
    summary = text_field(blank=True)
    steps_tried = text_field(blank=True)
    knowledge_consulted = text_field(blank=True)
    customer_impact = text_field(blank=True)
    justification = text_field(blank=True, help_text="Why a level was skipped.")
    response_breached = models.BooleanField(
        default=False, help_text="The OLA response target at the level it left had been breached."
    )
    work_breached = models.BooleanField(
        default=False, db_default=False, help_text="The OLA work target at the level it left had been breached."
    )
    # The outcome.
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False, db_index=False
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    return_reason = text_field(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A copy of the case's opening moment (which never changes), so the reports select "the
    # handoffs of the cases opened in a range" and measure from opening without joining a
    # million cases. Every writer sets it; on PostgreSQL a trigger fills it for raw inserts
    # that leave it out (migration 0014). Not history: it is the case's fact, not the handoff's.
    case_opened_at = models.DateTimeField(editable=False)
    # Copies of the case's category, priority and source, which the handoff rollups are keyed
    # by so a report filtered on them reads no handoff. Every writer sets them at insert (a
    # PostgreSQL trigger fills raw inserts that leave them out), and when a case's category or
    # priority changes, a trigger on the case rewrites its handoffs' copies in the same
    # statement (migration 0059); ``check_invariants`` compares them with the cases.
    case_category_id = models.IntegerField(editable=False)
    case_priority = models.PositiveSmallIntegerField(editable=False)
    case_source = models.CharField(max_length=16, editable=False, blank=True)

    # Read by handoff (``id``), by case, by date and user: no index on the other keys.
    history = audited_history(
        excluded_fields=["case_opened_at", "case_category_id", "case_priority", "case_source"],
        no_db_index=[
            "decided_by",
            "from_assignee",
            "from_level",
            "from_team",
            "raised_by",
            "rule",
            "to_level",
            "to_team",
        ],
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # Who decided a handoff, who held the case when it was raised: unset while a
            # handoff waits and when nobody held the case, so only the rows naming one.
            where_set("decided_by", "escalation_decided_by"),
            where_set("from_assignee", "escalation_from_assignee"),
            # A case's handoffs; with what the speed report reads of each (and the case filter's
            # copies), the handoffs of the cases a team holds are read index-only, case by case.
            models.Index(
                fields=["case", "status"],
                name="escalation_case_status",
                include=[
                    "kind",
                    "from_level",
                    "to_level",
                    "created_at",
                    "decided_at",
                    "case_opened_at",
                    "case_category_id",
                    "case_priority",
                    "case_source",
                ],
            ),
            # Reports read these columns only (index-only scans instead of the rows with their texts).
            models.Index(
                fields=["case_opened_at"],
                name="escalation_report_cover",
                include=["kind", "status", "from_level", "to_level", "created_at", "decided_at"],
            ),
            # The handoffs nobody has accepted yet (the live desk, the bottlenecks' "pending
            # now"): a handful of rows among millions, found without reading the rest.
            models.Index(
                fields=["created_at"],
                name="escalation_pending",
                condition=models.Q(status=EscalationStatus.PENDING),
                include=["kind", "to_level", "to_team", "case"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_level} -> {self.to_level} ({self.get_status_display()})"

    @staticmethod
    def case_copies(case: Case) -> dict:
        """The case's facts a new handoff carries (``case_opened_at`` and the copies above)."""
        return {
            "case_opened_at": case.opened_at,
            "case_category_id": case.category_id,
            "case_priority": case.priority,
            "case_source": case.source,
        }

    @property
    def handoff_complete(self) -> bool:
        return all(s.strip() for s in (self.summary, self.steps_tried, self.customer_impact))

    @transition(field=status, source=EscalationStatus.PENDING, target=EscalationStatus.ACCEPTED)
    def accept(self, user, at) -> None:
        self.decided_by, self.decided_at = user, at

    @transition(field=status, source=EscalationStatus.PENDING, target=EscalationStatus.RETURNED)
    def return_(self, user, reason: str, at) -> None:
        self.decided_by, self.decided_at, self.return_reason = user, at, reason


class Note(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=16, choices=NoteKind.choices, default=NoteKind.INTERNAL)
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    body = text_field()
    # Who wrote a note that no staff member wrote (the requester's address, for an e-mail).
    sender = models.CharField(max_length=254, blank=True, default="", db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.case_id}"


class ApprovalRequest(ConcurrentTransitionMixin, models.Model):
    """A decision that needs authority; the authority matrix names the lowest level allowed."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="approvals")
    kind = models.CharField(max_length=32, choices=ApprovalKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="EUR", db_default="EUR", help_text="ISO 4217 code.")
    description = text_field()
    required_level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="+")
    status = FSMField(default=ApprovalStatus.PENDING, choices=ApprovalStatus.choices, protected=True)
    requested_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = text_field(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        amount = f" {self.currency} {self.amount:,.2f}" if self.amount is not None else ""
        return f"{self.get_kind_display()}{amount} ({self.get_status_display()})"

    @transition(field=status, source=ApprovalStatus.PENDING, target=ApprovalStatus.APPROVED)
    def approve(self, user, note: str, at) -> None:
        self.decided_by, self.decided_at, self.decision_note = user, at, note

    @transition(field=status, source=ApprovalStatus.PENDING, target=ApprovalStatus.REJECTED)
    def reject(self, user, note: str, at) -> None:
        self.decided_by, self.decided_at, self.decision_note = user, at, note

    @transition(field=status, source=ApprovalStatus.PENDING, target=ApprovalStatus.CANCELLED)
    def cancel(self, user, note: str, at) -> None:
        self.decided_by, self.decided_at, self.decision_note = user, at, note


class Review(ConcurrentTransitionMixin, models.Model):
    """Post-escalation analysis of a closed, escalated case."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="review")
    reviewer = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    status = FSMField(default=ReviewStatus.DRAFT, choices=ReviewStatus.choices, protected=True)
    root_cause = text_field()
    went_well = text_field(blank=True)
    went_badly = text_field(blank=True)
    escalation_warranted = models.BooleanField(null=True)
    prevention_actions = text_field(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Where the case stood when the review was written (a reviewed case is closed, or a
    # resolved major incident): the reviews report filters on these without reading a case
    # row per review. Set by ``workflow.case_review`` (migration 0060 filled in the older ones).
    case_level_id = models.IntegerField(editable=False)
    case_team_id = models.IntegerField(null=True, editable=False)
    case_category_id = models.IntegerField(editable=False)
    case_priority = models.PositiveSmallIntegerField(editable=False)
    case_source = models.CharField(max_length=16, blank=True, editable=False)

    # The copies are the case's facts, recorded in the case's own history.
    history = audited_history(
        excluded_fields=["case_level_id", "case_team_id", "case_category_id", "case_priority", "case_source"]
    )

    def __str__(self) -> str:
        return f"Review of case {self.case_id}"

    def copy_case(self, case: Case) -> None:
        self.case_level_id, self.case_team_id = case.level_id, case.team_id
        self.case_category_id, self.case_priority, self.case_source = case.category_id, case.priority, case.source

    @transition(field=status, source=ReviewStatus.DRAFT, target=ReviewStatus.COMPLETED)
    def complete(self, at) -> None:
        self.completed_at = at


class KnowledgeArticle(OneLineFieldsMixin, models.Model):
    one_line_fields = ("title",)
    title = models.CharField(max_length=200)
    body = text_field(limits.ARTICLE)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL)
    is_published = models.BooleanField(default=True)
    cases = models.ManyToManyField(Case, blank=True, related_name="articles")
    author = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    # Kept by a PostgreSQL trigger (migration 0028) from the first ``limits.SEARCH_PREFIX``
    # characters of title and body, GIN-indexed: searches never build a vector per request,
    # and no body (however long, however it got in) can exceed the tsvector limit.
    search_vector = SearchVectorField(null=True, editable=False)

    history = audited_history(excluded_fields=["updated_at", "search_vector"])

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title
