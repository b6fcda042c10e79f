"""SLA policies, escalation paths and trigger rules: what managers configure."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models

from escalations.audit.records import audited_history
from escalations.models.calendars import BusinessCalendar
from escalations.models.choices import Complexity, CustomerTier, Priority, RecipientKind
from escalations.models.organisation import Category, Level, Team


class SlaPolicyQuerySet(models.QuerySet):
    def default(self) -> SlaPolicy | None:
        return self.filter(is_default=True).first() or self.order_by("pk").first()


class SlaPolicy(models.Model):
    """Targets per level and priority on a calendar. Warnings (50 %, 75 %, ...) are trigger
    rules, so there is one mechanism for everything that happens as a clock runs."""

    name = models.CharField(max_length=80, unique=True)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT)
    is_default = models.BooleanField(default=False)

    objects = SlaPolicyQuerySet.as_manager()
    history = audited_history()

    class Meta:
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_policy",
                violation_error_message="Only one policy can be the default; untick the current default first.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SlaTarget(models.Model):
    """Response and resolution targets for one level and priority under a policy."""

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets")
    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="sla_targets")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices)
    response = models.DurationField()
    resolution = models.DurationField()

    history = audited_history()

    class Meta:
        verbose_name = "SLA target"
        ordering = ["policy", "level__rank", "priority"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level", "priority"], name="one_target_per_level_priority")
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.level.code} P{self.priority}"

    def clean(self) -> None:
        errors = {}
        for field in ("response", "resolution"):
            value = getattr(self, field)
            if value is not None and value.total_seconds() <= 0:
                errors[field] = "A target must be longer than zero."
            elif value is not None and value > TARGET_MAX:
                errors[field] = "A target can be at most 3650 d (ten years); this one is surely a typo."
        if not errors and self.response and self.resolution and self.resolution < self.response:
            errors["resolution"] = "The resolution target cannot be shorter than the response target."
        if errors:
            raise ValidationError(errors)


class EscalationPath(models.Model):
    """The ordered steps a case of one category climbs."""

    name = models.CharField(max_length=120, unique=True)
    category = models.OneToOneField(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="path",
        help_text="Blank: the default path for categories without their own.",
    )

    history = audited_history()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PathStep(models.Model):
    path = models.ForeignKey(EscalationPath, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    level = models.ForeignKey(Level, on_delete=models.PROTECT)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT)

    history = audited_history()

    class Meta:
        ordering = ["path", "order"]
        constraints = [
            models.UniqueConstraint(fields=["path", "order"], name="one_step_per_order"),
        ]

    def __str__(self) -> str:
        team = f" / {self.team.name}" if self.team_id else ""
        return f"{self.order}. {self.level.code}{team}"

    def clean(self) -> None:
        if self.team_id and self.level_id and self.team.level_id != self.level_id:
            raise ValidationError({"team": f"{self.team} works at {self.team.level}, not {self.level}."})


def validate_path_steps(steps: list[tuple[int, Level]]) -> None:
    """Each step must sit strictly above the previous one; explains the first mistake."""
    ordered = sorted(steps, key=lambda s: s[0])
    for (prev_order, prev_level), (order, level) in zip(ordered, ordered[1:]):
        if level.rank <= prev_level.rank:
            raise ValidationError(
                f"Step {order} ({level.code}) is not above step {prev_order} ({prev_level.code}); a path must climb."
            )


ORDER_MAX = 1_000_000


class TriggerRule(models.Model):
    """When to act automatically and what to do. Evaluated by ``escalations.triggers``."""

    class Condition(models.TextChoices):
        SLA_PERCENT = "sla_percent", "% of an SLA target used"
        PRIORITY = "priority", "Priority at or above"
        IMPACT = "impact", "Impact at or above"
        COMPLEXITY = "complexity", "Complexity is"
        CUSTOMER_TIER = "customer_tier", "Customer tier is"
        REASSIGNMENTS = "reassignments", "Reassignments at this level at least"
        REOPENS = "reopens", "Reopens at least"
        NO_RESPONSE = "no_response", "No response within"
        LOW_SATISFACTION = "low_satisfaction", "Satisfaction answer at or below (when answered)"
        BREACH_RISK = "breach_risk", "Predicted breach risk at least"
        ESCALATION_RISK = "escalation_risk", "Predicted escalation risk at least"

    class Action(models.TextChoices):
        NOTIFY = "notify", "Notify"
        ESCALATE_NEXT = "escalate_next", "Escalate to the next step of the path"
        JUMP_LEVEL = "jump_level", "Jump to a level"
        RAISE_PRIORITY = "raise_priority", "Raise priority"
        FOLLOW_UP = "follow_up", "Open a follow-up case for the team manager"

    name = models.CharField(max_length=120, unique=True)
    order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    level = models.ForeignKey(
        Level,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        help_text="Only for cases at this level; blank = every level.",
    )
    condition = models.CharField(max_length=32, choices=Condition.choices)
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text='Condition parameters, e.g. {"target": "response", "percent": 75, "clock": "ola"}; '
        '"clock": "sla" (the customer) or "ola" (the level); without it, response = OLA, resolution = SLA.',
    )
    action = models.CharField(max_length=32, choices=Action.choices, blank=True)
    recipients = models.JSONField(
        default=list,
        blank=True,
        help_text='For notify: any of "assignee", "team", "team_manager", "next_level", "watchers", "requester".',
    )
    target_level = models.ForeignKey(
        Level,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For jump to a level.",
    )
    stop_processing = models.BooleanField(default=False, help_text="Skip later rules when this fires.")
    repeat_every = models.DurationField(
        null=True, blank=True, help_text="Fire again after this long; blank = once per case per level."
    )

    history = audited_history()

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.action:
            raise ValidationError({"action": "A rule with no action does nothing; choose one."})
        if self.action == self.Action.JUMP_LEVEL and not self.target_level_id:
            raise ValidationError({"target_level": "A jump needs the level to jump to."})
        if self.action == self.Action.NOTIFY:
            kinds = RecipientKind.values
            if not isinstance(self.recipients, list) or not self.recipients:
                raise ValidationError({"recipients": f"Say who to notify: a list of {', '.join(kinds)}."})
            unknown = [r for r in self.recipients if r not in kinds]
            if unknown:
                raise ValidationError({"recipients": f"Unknown recipients {unknown}; use {', '.join(kinds)}."})
        if self.repeat_every is not None and not REPEAT_MIN <= self.repeat_every <= REPEAT_MAX:
            raise ValidationError(
                {"repeat_every": "Repeat after 1 min at the least and 365 d at the most, or leave it blank."}
            )
        if self.order is not None and self.order > ORDER_MAX:
            raise ValidationError({"order": f"Order the rule with a number from 0 to {ORDER_MAX}."})
        satisfaction = self.condition == self.Condition.LOW_SATISFACTION
        if self.action == self.Action.FOLLOW_UP and not satisfaction:
            raise ValidationError({"action": "A follow-up case is opened only on a low satisfaction answer."})
        if satisfaction and self.action not in (self.Action.NOTIFY, self.Action.FOLLOW_UP):
            raise ValidationError({"action": "On a satisfaction answer a rule can notify or open a follow-up."})
        problem = condition_problem(self.condition, self.params)
        if problem:
            raise ValidationError({"params": problem})


# Bounds on every number a rule carries: beyond them a value is a typo, and some (1e300
# minutes) cannot even be turned into a moment, which used to fail every new case.
PERCENT_MAX = 1000
COUNT_MAX = 1000
MINUTES_MAX = 525_600  # a year
REPEAT_MIN, REPEAT_MAX = timedelta(minutes=1), timedelta(days=365)
TARGET_MAX = timedelta(days=3650)


def _number(value, low: float, high: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high


def condition_problem(condition: str, params) -> str | None:
    """What is wrong with a condition's parameters, in words; None when they are fine."""
    C = TriggerRule.Condition
    if not isinstance(params, dict):
        return 'Parameters must be a JSON object, e.g. {"target": "response", "percent": 75}.'
    checks = {
        C.SLA_PERCENT: (
            lambda p: (
                p.get("target") in ("response", "resolution", "work") and _number(p.get("percent"), 1, PERCENT_MAX)
            ),
            '{"target": "response" or "resolution" (or "work", the OLA), '
            f'"percent": a number from 1 to {PERCENT_MAX}, "clock": "sla" or "ola" (optional)}}',
        ),
        C.PRIORITY: (lambda p: _number(p.get("at_most"), 1, 4), '{"at_most": a priority 1..4}'),
        C.IMPACT: (lambda p: _number(p.get("at_most"), 1, 3), '{"at_most": an impact 1..3}'),
        C.COMPLEXITY: (
            lambda p: isinstance(p.get("in"), list) and p["in"] and set(p["in"]) <= set(Complexity.values),
            f'{{"in": a list of {", ".join(Complexity.values)}}}',
        ),
        C.CUSTOMER_TIER: (
            lambda p: isinstance(p.get("in"), list) and p["in"] and set(p["in"]) <= set(CustomerTier.values),
            f'{{"in": a list of {", ".join(CustomerTier.values)}}}',
        ),
        C.REASSIGNMENTS: (
            lambda p: _number(p.get("at_least"), 1, COUNT_MAX),
            f'{{"at_least": a count from 1 to {COUNT_MAX}}}',
        ),
        C.REOPENS: (
            lambda p: _number(p.get("at_least"), 1, COUNT_MAX),
            f'{{"at_least": a count from 1 to {COUNT_MAX}}}',
        ),
        C.NO_RESPONSE: (
            lambda p: _number(p.get("minutes"), 1, MINUTES_MAX),
            f'{{"minutes": business minutes from 1 to {MINUTES_MAX} (a year)}}',
        ),
        C.LOW_SATISFACTION: (lambda p: _number(p.get("at_most"), 1, 5), '{"at_most": a score 1..5}'),
        C.BREACH_RISK: (lambda p: _number(p.get("at_least"), 0.01, 1), '{"at_least": a probability from 0.01 to 1}'),
        C.ESCALATION_RISK: (
            lambda p: _number(p.get("at_least"), 0.01, 1),
            '{"at_least": a probability from 0.01 to 1}',
        ),
    }
    if condition not in checks:
        return f"Unknown condition '{condition}'."
    if condition in (C.SLA_PERCENT, C.NO_RESPONSE) and params.get("clock", "sla") not in ("sla", "ola"):
        return '"clock" must be "sla" (the customer commitment) or "ola" (the level target).'
    ok, shape = checks[condition]
    if not ok(params):
        return f"{C(condition).label} needs {shape}."
    extras = params.get("and", [])
    if not isinstance(extras, list):
        return '"and" must be a list of conditions, e.g. [{"condition": "customer_tier", "in": ["vip"]}].'
    for extra in extras:
        kind = extra.get("condition") if isinstance(extra, dict) else None
        problem = (
            condition_problem(kind, {k: v for k, v in extra.items() if k != "condition"})
            if kind
            else 'Each "and" entry needs a "condition".'
        )
        if problem:
            return f'In "and": {problem}'
    return None
