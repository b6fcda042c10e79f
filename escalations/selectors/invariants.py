"""Invariants that must hold after any load, fault or scale-out run (check_invariants)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from escalations.audit import verify
from escalations.core import search_text
from escalations.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    Escalation,
    EscalationKind,
    EscalationStatus,
    Notification,
    NotificationStatus,
    RuleFiring,
)
from escalations.rollups import build as rollups


@dataclass
class Finding:
    name: str
    held: bool
    detail: str


def check() -> list[Finding]:
    out = []
    broken = [s.broken for s in verify.verify() if s.broken]
    out.append(Finding("history chains complete and valid", not broken, str(broken[0]) if broken else "all tables"))

    doubled = (
        Escalation.objects.filter(rule__isnull=False)
        .values("case", "rule", "from_level")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    n = doubled.count()
    out.append(Finding("no case escalated twice by one rule at one level", n == 0, f"{n} doubled"))

    firings = RuleFiring.objects.values("case", "rule", "level").annotate(n=Count("pk")).filter(n__gt=1).count()
    out.append(Finding("each rule fired at most once per case and level", firings == 0, f"{firings} doubled"))

    pending = Escalation.objects.filter(status=EscalationStatus.PENDING).values("case").annotate(n=Count("pk"))
    two = pending.filter(n__gt=1).count()
    out.append(Finding("at most one handoff awaiting acceptance per case", two == 0, f"{two} cases with more"))

    mismatch = (
        Case.objects.filter(status=CaseStatus.ESCALATED).exclude(escalations__status=EscalationStatus.PENDING).count()
    )
    out.append(Finding("every escalated case has its pending handoff", mismatch == 0, f"{mismatch} without"))

    # NOT EXISTS, an anti-join: NOT IN (subquery) cannot be one (NULLs) and goes quadratic
    # once the history ids outgrow work_mem.
    missing = Case.objects.filter(~Exists(Case.history.filter(id=OuterRef("pk")))).count()
    out.append(Finding("every case has a history", missing == 0, f"{missing} without"))

    sent_twice = (
        Notification.objects.filter(status=NotificationStatus.SENT)
        .values("dedupe_key")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    unsent_sent = Notification.objects.filter(status=NotificationStatus.SENT, sent_at__isnull=True).count()
    out.append(
        Finding(
            "every notice recorded once, sent ones with a time",
            sent_twice == 0 and unsent_sent == 0,
            f"{sent_twice} duplicate keys, {unsent_sent} sent without a time",
        )
    )
    astray = (
        Escalation.objects.exclude(case_opened_at=F("case__opened_at"))
        | Escalation.objects.exclude(case_category_id=F("case__category_id"))
        | Escalation.objects.exclude(case_priority=F("case__priority"))
        | Escalation.objects.exclude(case_source=F("case__source"))
    ).count()
    out.append(
        Finding(
            "every handoff carries its case's opening moment, category, priority and source (reports read them)",
            astray == 0,
            f"{astray} differ",
        )
    )
    stale = (
        Case.objects.filter(version__lt=1).count()
        + Case.objects.filter(highest_level__rank__lt=F("level__rank")).count()
    )
    out.append(Finding("case counters consistent (version, highest level)", stale == 0, f"{stale} inconsistent"))
    # The live desk's breakdown counts an open case's resolution clock as running (``reports.breakdown``).
    resolved_open = Case.objects.filter(status__in=OPEN_STATUSES, resolved_at__isnull=False).count()
    out.append(Finding("no open case has a resolution time", resolved_open == 0, f"{resolved_open} open and resolved"))
    down = Q(kind=EscalationKind.DE_ESCALATE) | Q(status=EscalationStatus.RETURNED)
    counted = (
        Escalation.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(n=Count("pk"), down=Count("pk", filter=down))
    )
    first = Escalation.objects.filter(case=OuterRef("pk")).order_by("created_at", "pk").values("from_level")[:1]
    drift = (
        Case.objects.annotate(
            n=Coalesce(Subquery(counted.values("n")), 0),
            down=Coalesce(Subquery(counted.values("down")), 0),
            entered=Coalesce(Subquery(first), F("level_id")),
        )
        .exclude(handoff_count=F("n"), moved_down_count=F("down"), entry_level_id=F("entered"))
        .count()
    )
    out.append(
        Finding(
            "each case's handoff count, moves down and entry level agree with its handoffs (reports read them)",
            drift == 0,
            f"{drift} differ",
        )
    )
    with connection.cursor() as cur:
        cur.execute(search_text.mismatched_sql())
        astray_text = cur.fetchone()[0]
    out.append(
        Finding(
            "every case's search text equals its side row (the search box and the portal read it)",
            astray_text == 0,
            f"{astray_text} differ",
        )
    )
    if rollups.active():
        wrong = rollups.check(limit=1)
        detail = f"{wrong[0].table} {wrong[0].key} differs" if wrong else "equal to a recount"
        out.append(Finding("report rollups equal a recount of the cases and handoffs", not wrong, detail))
    return out
