"""Report rollups: grouped counts and sums of the case and handoff facts, kept by the
database in the same transaction as the facts they summarise (statement triggers with
transition tables; see ``escalations.rollups``). Figures only: no foreign keys (a rollup
row outlives nothing and blocks no delete), team 0 = no team. PostgreSQL only; on SQLite
the tables stay empty and the reports read the facts."""

from __future__ import annotations

from django.db import models

from escalations.models.attributes import KEY_MAX, VALUE_MAX

GRAINS = [("d", "day"), ("w", "week"), ("m", "month")]


class RollupState(models.Model):
    """One row: the time zone the rollups' days are in (``settings.TIME_ZONE`` when built)
    and when they were last rebuilt. No row: rollups off (the triggers write nothing)."""

    time_zone = models.CharField(max_length=64)
    built_at = models.DateTimeField()

    def __str__(self):
        return f"rollups in {self.time_zone}, built {self.built_at:%Y-%m-%d %H:%M}"


class Attributed(models.Model):
    """A rollup that counts each fact once for all cases (``attr_key`` and ``attr_value`` "")
    and again under each imported attribute of its case (``CaseAttribute``), which an
    attribute filter or breakdown reads (migration 0069; ``rollups.schema.ATTR``)."""

    attr_key = models.CharField(max_length=KEY_MAX, default="")
    attr_value = models.CharField(max_length=VALUE_MAX, default="")

    class Meta:
        abstract = True


class CaseRollup(Attributed):
    """Cases by the local day (and month) they were opened x where they are now (level,
    team) x the highest level reached x category x priority x source."""

    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    level_id = models.IntegerField()
    highest_level_id = models.IntegerField()
    team_id = models.IntegerField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    n = models.BigIntegerField(default=0)
    escalated = models.BigIntegerField(default=0)  # escalation_count > 0
    resolved = models.BigIntegerField(default=0)
    resolved_direct = models.BigIntegerField(default=0)  # resolved, escalation_count = 0
    open_n = models.BigIntegerField(default=0)  # resolved_at IS NULL
    open_opened_s = models.DecimalField(max_digits=30, decimal_places=6, default=0)  # sum of epoch(opened_at)
    # sla (``rollups.schema.CASE_FIGURES``): per clock met / breached or stopped late, what a
    # case's columns decide alone (r SLA response, s SLA resolution, o OLA response, w OLA work)
    r_met = models.BigIntegerField(default=0)
    r_late = models.BigIntegerField(default=0)
    s_met = models.BigIntegerField(default=0)
    s_late = models.BigIntegerField(default=0)
    o_met = models.BigIntegerField(default=0)
    o_late = models.BigIntegerField(default=0)
    w_met = models.BigIntegerField(default=0)
    w_late = models.BigIntegerField(default=0)
    fr_n = models.BigIntegerField(default=0)  # first responses, and their seconds from opening
    fr_s = models.FloatField(default=0)
    r_n = models.BigIntegerField(default=0)  # response breaches, and their seconds from opening
    r_s = models.FloatField(default=0)
    s_n = models.BigIntegerField(default=0)  # resolution breaches, and their seconds from opening
    s_s = models.FloatField(default=0)
    resolve_s = models.FloatField(default=0)  # seconds from opening to resolution, resolved cases
    open_now = models.BigIntegerField(default=0)  # status open (a breakdown's "Open")
    made = models.BigIntegerField(default=0)  # source_made_sla true
    verdicts = models.BigIntegerField(default=0)  # source_made_sla known
    # quality
    breached = models.BigIntegerField(default=0)
    under = models.BigIntegerField(default=0)  # breached at its level, not moved up after
    resolved_once = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    # flow
    moves = models.BigIntegerField(default=0)  # sum of reassignment_count
    bounced = models.BigIntegerField(default=0)  # reassignment_count > 1
    handoffs = models.BigIntegerField(default=0)  # sum of escalation_count

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "level_id",
                    "highest_level_id",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                ],
                name="caserollup_key",
            )
        ]

    def __str__(self):
        return f"{self.grain} {self.day}: {self.n} cases"


class EntryRollup(Attributed):
    """Cases by the local day (week, month) they were opened x the level they entered the
    ladder at x where they are now (level, team) x category x priority x source, with how
    many had one, two, three and four or more handoffs (none: ``n`` less the rest) and how
    many were moved down (returned or de-escalated) at least once."""

    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    entry_level_id = models.IntegerField()
    level_id = models.IntegerField()
    team_id = models.IntegerField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    n = models.BigIntegerField(default=0)
    h1 = models.BigIntegerField(default=0)
    h2 = models.BigIntegerField(default=0)
    h3 = models.BigIntegerField(default=0)
    h4 = models.BigIntegerField(default=0)  # four or more
    down = models.BigIntegerField(default=0)  # returned or de-escalated at least once

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "entry_level_id",
                    "level_id",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                ],
                name="entryrollup_key",
            )
        ]

    def __str__(self):
        return f"{self.grain} {self.day}: {self.n} cases entered at level {self.entry_level_id}"


class OpenRollup(Attributed):
    """The cases open now (new, in progress, awaiting the customer, escalated) x where they
    are (level, team) x category x priority x source: how many, nobody on them, a clock
    already breached, the resolution clock already breached."""

    level_id = models.IntegerField()
    team_id = models.IntegerField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    n = models.BigIntegerField(default=0)
    unassigned = models.BigIntegerField(default=0)
    breached = models.BigIntegerField(default=0)
    # The resolution clock alone recorded as breached: the live desk's breakdown adds the open
    # cases past due that the sweep has not marked yet, read at the report's moment (0069).
    s_breached = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attr_key", "attr_value", "level_id", "team_id", "category_id", "priority", "source"],
                name="openrollup_key",
            )
        ]

    def __str__(self):
        return f"{self.n} open at level {self.level_id}, team {self.team_id}"


class ResolvedRollup(Attributed):
    """Cases by the local day (week, month) of their resolution (a reopened case counts again
    when resolved anew) x where they are now x category x priority x source: the backlog
    over time is opened minus resolved."""

    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    level_id = models.IntegerField()
    team_id = models.IntegerField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    n = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "level_id",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                ],
                name="resolvedrollup_key",
            )
        ]

    def __str__(self):
        return f"{self.grain} {self.day}: {self.n} resolved"


CROSSED = ("category_id", "team_id", "priority", "source")


class CaseDurationRollup(models.Model):
    """Histogram buckets (``reports.sql.bucket_sql``) of each case's time from opening to
    first response (measure 1) and to resolution (measure 2) per level, once for all cases
    (``slice`` "") and once per value of each filter (team, category, priority, source, and
    each imported attribute of the case: ``slice`` "attr:<key>"), and once more under the
    four case filters at once (``slice`` "*"), which two or more filters at once read."""

    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    level_id = models.IntegerField()
    slice = models.CharField(max_length=5 + KEY_MAX)
    value = models.CharField(max_length=VALUE_MAX)
    # Slice "*": every filter at once (two or more set); 0 and "" in the other slices.
    team_id = models.IntegerField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    measure = models.SmallIntegerField()
    bucket = models.IntegerField()
    n = models.BigIntegerField(default=0)
    s = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "grain",
                    "day",
                    "level_id",
                    "slice",
                    "value",
                    "team_id",
                    "category_id",
                    "priority",
                    "source",
                    "measure",
                    "bucket",
                ],
                name="casedurationrollup_key",
            )
        ]
        # The one-filter slices, which most reads take, answered by this index alone (the rows
        # crossed with every filter would otherwise double a scan).
        indexes = [
            models.Index(
                fields=["slice", "value", "grain", "day"],
                include=["level_id", "measure", "bucket", "n", "s"],
                condition=~models.Q(slice="*"),
                name="casedurationrollup_slices",
            ),
            # Two or more filters read the rows crossed with every filter through the index led
            # by one of them: the category, else the team, else the priority.
            *(
                models.Index(
                    fields=[lead, "grain", "day"],
                    include=["level_id", *(d for d in CROSSED if d != lead), "measure", "bucket", "n", "s"],
                    condition=models.Q(slice="*"),
                    name=f"casedurationrollup_by_{lead.removesuffix('_id')}",
                )
                for lead in CROSSED[:3]
            ),
        ]

    def __str__(self):
        return f"{self.grain} {self.day} measure {self.measure} bucket {self.bucket}: {self.n}"


# What a handoff rollup row carries beside its day and case filters: every report reads these.
HANDOFF_FIGURES = (
    "kind",
    "status",
    "from_level_id",
    "to_level_id",
    "from_team_id",
    "to_team_id",
    "bucket",
    "source",
    "n",
    "raised_s",
    "decided_s",
    "wait_s",
    "response_breached",
    "work_breached",
)


class HandoffRollup(Attributed):
    """Handoffs by the local day (month) raised (basis "r") and, again, by the day their
    case was opened (basis "o") x kind x status x both ends, with the sums of their raising
    and decision from the case's opening (seconds); basis "o" rows split the wait to the
    decision into histogram buckets (``bucket`` -1: not decided; basis "r": 0). Each handoff
    counts for all cases and again under its case's category, priority and source, so any of
    those filters, alone or together, reads rollup rows; and once more under each imported
    attribute of its case (with the case's own category, priority and source)."""

    basis = models.CharField(max_length=1)  # r: day raised, o: day the case was opened
    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    # Each handoff counts twice: once for all cases of its source (``whole``; category and
    # priority 0) and once under its case's category, priority and source (the copies it
    # carries). A source filter alone reads the first rows, any other case filter the second.
    # An attribute's copies (``attr_key`` set) are of the second kind.
    whole = models.BooleanField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    status = models.CharField(max_length=16)
    from_level_id = models.IntegerField()
    to_level_id = models.IntegerField()
    from_team_id = models.IntegerField()
    to_team_id = models.IntegerField()
    bucket = models.IntegerField()
    n = models.BigIntegerField(default=0)
    raised_s = models.FloatField(default=0)
    decided_s = models.FloatField(default=0)
    wait_s = models.FloatField(default=0)
    response_breached = models.BigIntegerField(default=0)  # handoffs that recorded an OLA breach
    work_breached = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "attr_key",
                    "attr_value",
                    "basis",
                    "grain",
                    "day",
                    "whole",
                    "category_id",
                    "priority",
                    "source",
                    "kind",
                    "status",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "bucket",
                ],
                name="handoffrollup_key",
            ),
        ]
        # The rows for all cases, which every report without a case filter reads, answered by
        # this index alone: the rows under each case's filters would otherwise double a scan.
        # Those rows never carry an attribute, and the reports ask for ``attr_key`` "" with
        # ``whole``, so both are the condition (with ``whole`` alone PostgreSQL read the rows
        # to check the key: migration 0077).
        indexes = [
            models.Index(
                fields=["basis", "grain", "day"],
                include=list(HANDOFF_FIGURES),
                condition=models.Q(whole=True, attr_key=""),
                name="handoffrollup_whole",
            ),
            # The rows under each case's filters, read through the index led by the filter: a
            # category filter (with or without a priority) by the category, a priority filter
            # by the priority. The key leads with the day, so it would read every filter's rows.
            *(
                models.Index(
                    fields=[lead, "basis", "grain", "day"],
                    include=[other, *HANDOFF_FIGURES],
                    condition=models.Q(whole=False, attr_key=""),
                    name=f"handoffrollup_by_{lead.removesuffix('_id')}",
                )
                for lead, other in (("category_id", "priority"), ("priority", "category_id"))
            ),
        ]

    def __str__(self):
        return f"{self.basis}{self.grain} {self.day} {self.kind}/{self.status}: {self.n}"


RAISER_FIGURES = (
    "kind",
    "from_level_id",
    "to_level_id",
    "from_team_id",
    "to_team_id",
    "raised_by_id",
    "source",
    "n",
    "returned",
    "live",
    "thin",
)


class RaiserRollup(models.Model):
    """Handoffs by the local day (week, month) they were raised x kind x both levels and
    teams x who raised them (0: a rule or nobody): how many, how many were returned, how
    many were raised in this desk (by a person or a rule, not imported) and how many of
    those missed information (a blank summary, what was tried, impact or knowledge). Counted
    for all cases and under the case's filters, and again under each imported attribute of
    the case, as ``HandoffRollup``."""

    attr_key = models.CharField(max_length=KEY_MAX, default="")
    attr_value = models.CharField(max_length=VALUE_MAX, default="")
    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    # Each handoff counts twice: once for all cases of its source (``whole``; category and
    # priority 0) and once under its case's category, priority and source (the copies it
    # carries). A source filter alone reads the first rows, any other case filter the second.
    whole = models.BooleanField()
    category_id = models.IntegerField()
    priority = models.SmallIntegerField()
    source = models.CharField(max_length=16)
    kind = models.CharField(max_length=16)
    from_level_id = models.IntegerField()
    to_level_id = models.IntegerField()
    from_team_id = models.IntegerField()
    to_team_id = models.IntegerField()
    raised_by_id = models.IntegerField()
    n = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)
    live = models.BigIntegerField(default=0)
    thin = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "attr_key",
                    "attr_value",
                    "grain",
                    "day",
                    "whole",
                    "category_id",
                    "priority",
                    "source",
                    "kind",
                    "from_level_id",
                    "to_level_id",
                    "from_team_id",
                    "to_team_id",
                    "raised_by_id",
                ],
                name="raiserrollup_key",
            )
        ]
        indexes = [  # as ``HandoffRollup``'s
            models.Index(
                fields=["grain", "day"],
                include=list(RAISER_FIGURES),
                condition=models.Q(whole=True, attr_key=""),
                name="raiserrollup_whole",
            ),
            *(
                models.Index(
                    fields=[lead, "grain", "day"],
                    include=[other, *RAISER_FIGURES],
                    condition=models.Q(whole=False, attr_key=""),
                    name=f"raiserrollup_by_{lead.removesuffix('_id')}",
                )
                for lead, other in (("category_id", "priority"), ("priority", "category_id"))
            ),
        ]

    def __str__(self):
        return f"{self.grain} {self.day} {self.kind} by {self.raised_by_id}: {self.n}"


class AttributeRollup(models.Model):
    """Cases by an imported attribute's value (``CaseAttribute``: key and value) x the local
    day (week, month) they were opened x where they are now (level) x the highest level
    reached: the figures a breakdown by an attribute compares (``reports.breakdown``), so
    ``by=attr:country`` reads a few rows per value and month instead of every case of the
    range. The case rollup's rows under each attribute hold the same figures crossed with
    team, category, priority and source too (some 25 times as many rows to add up for a
    whole range): a breakdown with one of those filters reads them instead. Kept by the
    triggers on the cases and on their attributes."""

    key = models.CharField(max_length=KEY_MAX)
    value = models.CharField(max_length=VALUE_MAX)
    grain = models.CharField(max_length=1, choices=GRAINS)
    day = models.DateField()
    level_id = models.IntegerField()
    highest_level_id = models.IntegerField()
    n = models.BigIntegerField(default=0)
    escalated = models.BigIntegerField(default=0)  # escalation_count > 0
    resolved = models.BigIntegerField(default=0)
    reopened = models.BigIntegerField(default=0)
    handoffs = models.BigIntegerField(default=0)  # sum of escalation_count
    moves = models.BigIntegerField(default=0)  # sum of reassignment_count
    r_met = models.BigIntegerField(default=0)  # the response and resolution clocks, as ``CaseRollup``
    r_late = models.BigIntegerField(default=0)
    s_met = models.BigIntegerField(default=0)
    s_late = models.BigIntegerField(default=0)
    fr_n = models.BigIntegerField(default=0)
    fr_s = models.FloatField(default=0)
    resolve_s = models.FloatField(default=0)  # seconds from opening to resolution, resolved cases
    made = models.BigIntegerField(default=0)
    verdicts = models.BigIntegerField(default=0)
    open_now = models.BigIntegerField(default=0)  # status open

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key", "grain", "day", "value", "level_id", "highest_level_id"],
                name="attributerollup_key",
            )
        ]

    def __str__(self):
        return f"{self.key}={self.value} {self.grain} {self.day}: {self.n} cases"
