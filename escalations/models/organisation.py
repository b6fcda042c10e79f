"""The ladder and the people on it: levels, categories, teams, staff, authority."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from escalations.audit.records import audited_history
from escalations.core.config_cache import cached
from escalations.core.text import OneLineFieldsMixin
from escalations.models.choices import ApprovalKind


class LevelQuerySet(models.QuerySet):
    def ladder(self) -> tuple[Level, ...]:
        """All levels by rank (``escalations.config_cache``: a few seconds per process)."""
        alias = self._db or "default"  # not self.db: asking the router costs more than the lookup
        return cached(("ladder", alias), lambda: tuple(self.order_by("rank")))

    def above(self, level: Level) -> LevelQuerySet:
        return self.filter(rank__gt=level.rank).order_by("rank")

    def below(self, level: Level) -> LevelQuerySet:
        return self.filter(rank__lt=level.rank).order_by("-rank")


def _ladder() -> tuple[Level, ...]:
    """``Level.objects.ladder()`` on the default database without building a queryset per
    call (the sweep asks once per escalated case)."""
    return cached(("ladder", "default"), lambda: tuple(Level.objects.order_by("rank")))


class Level(OneLineFieldsMixin, models.Model):
    """A tier of the ladder. Rank orders the tiers; L1 is the lowest."""

    one_line_fields = ("name",)

    rank = models.PositiveSmallIntegerField(unique=True)
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=80)
    response_target = models.DurationField(help_text="Default time to respond at this level.")
    resolution_target = models.DurationField(help_text="Default time to resolve at this level.")
    authority = models.CharField(max_length=80, blank=True)
    typical_issues = models.CharField(max_length=200, blank=True)
    resources = models.CharField(max_length=200, blank=True)
    decision_power = models.CharField(max_length=200, blank=True)

    objects = LevelQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.code

    def next_level(self) -> Level | None:
        return next((lv for lv in _ladder() if lv.rank > self.rank), None)

    def previous_level(self) -> Level | None:
        return next((lv for lv in reversed(_ladder()) if lv.rank < self.rank), None)


class Category(OneLineFieldsMixin, models.Model):
    """A service or issue type; paths, skills and knowledge hang off it."""

    one_line_fields = ("name",)

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)

    history = audited_history()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Team(OneLineFieldsMixin, models.Model):
    one_line_fields = ("name",)
    name = models.CharField(max_length=120, unique=True)
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="teams")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    skills = models.ManyToManyField(Category, blank=True, related_name="teams")
    capacity = models.PositiveIntegerField(default=50, help_text="Open cases the team can carry.")
    email = models.EmailField(blank=True, help_text="Where team notifications go.")

    history = audited_history(m2m_fields=[members, skills])

    class Meta:
        ordering = ["level__rank", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.level.code})"


class StaffProfile(models.Model):
    """What the desk knows about a staff member beyond the auth user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    level = models.ForeignKey(Level, on_delete=models.PROTECT, related_name="staff")
    skills = models.ManyToManyField(Category, blank=True, related_name="staff")
    capacity = models.PositiveIntegerField(default=10, help_text="Open cases this person can carry.")
    on_duty = models.BooleanField(default=True)
    customer_name = models.CharField(
        "name shown to customers",
        max_length=8,
        choices=[("first", "First name only"), ("full", "Full name"), ("team", "Hidden: “our team”")],
        default="first",
        help_text="What the requester portal shows of this person's name.",
    )
    calendar = models.ForeignKey(
        "escalations.BusinessCalendar",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text="Working hours of this person; blank means the team's policy calendar.",
    )

    history = audited_history(m2m_fields=[skills])

    def __str__(self) -> str:
        return f"{self.user} ({self.level.code})"


class AuthorityGrantQuerySet(models.QuerySet):
    def covering(self, kind: str, amount: Decimal | None) -> AuthorityGrantQuerySet:
        """Grants that allow deciding ``kind`` for ``amount`` (no limit = unlimited)."""
        qs = self.filter(kind=kind)
        if amount is None:
            return qs
        return qs.filter(models.Q(limit__isnull=True) | models.Q(limit__gte=amount))


class AuthorityGrant(models.Model):
    """One cell of the authority matrix: a level may decide this kind up to a limit."""

    level = models.ForeignKey(Level, on_delete=models.CASCADE, related_name="grants")
    kind = models.CharField(max_length=32, choices=ApprovalKind.choices)
    limit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Highest amount this level may approve; blank means no limit.",
    )

    objects = AuthorityGrantQuerySet.as_manager()
    history = audited_history()

    class Meta:
        ordering = ["level__rank", "kind"]
        constraints = [models.UniqueConstraint(fields=["level", "kind"], name="one_grant_per_level_and_kind")]

    def __str__(self) -> str:
        limit = "no limit" if self.limit is None else f"up to {self.limit}"
        return f"{self.level.code} may approve {self.get_kind_display().lower()} {limit}"

    def clean(self) -> None:
        if self.limit is not None and self.limit < 0:
            raise ValidationError({"limit": "A limit cannot be negative."})
