"""Existing cases under the split clocks (docs/counting-time.md).

Until 0020 a case had one pair of due times that followed the level: escalating moved the
response clock to the new level and the resolution deadline to the new level's target,
and taking the case stamped the first response. Now:

- SLA (the customer's): where no escalation ever moved the case, its current due times
  are kept as they are; where one did, they are recomputed from its history: the level
  that took it in (the first handoff's "from" level), its priority, its opening time and
  its pauses. The move is recorded on the case (``sla_changes``) so its page says why.
- OLA (the level's): the old response clock was already the level's; its due time and
  breach become the OLA response; the OLA work clock is computed from the level's entry.
- First response: for live cases, the first public update to the requester (or the
  resolution e-mail); taking a case no longer counts. Imported cases keep their logs'
  mapping (README "Importing real incident logs").

Open cases are rechecked by the next sweep (``next_check_at``). No history rows are written:
the migration corrects derived clock fields, it is not an action on the cases.
``migrate_clocks`` takes an app registry so the tests can run it on cases they build.
"""

from datetime import date, timedelta

from django.db import migrations
from django.db.models import Min
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from escalations.domain import sla

BATCH = 500
OPEN = ("new", "in_progress", "awaiting_customer", "escalated")
FIELDS = [
    "policy_snapshot",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "response_breached_at",
    "resolution_breached_at",
    "sla_changes",
    "ola_response_due_at",
    "ola_work_due_at",
    "ola_response_breached_at",
    "ola_work_breached_at",
    "next_check_at",
]


def _calendar(spec: dict) -> sla.BusinessCalendar:
    return sla.BusinessCalendar(
        timezone=spec["timezone"],
        weekly_hours={int(d): [tuple(r) for r in ranges] for d, ranges in spec["weekly_hours"].items()},
        holidays=[date.fromisoformat(h) for h in spec["holidays"]],
    )


def _pauses(case, now):
    out = [(parse_datetime(a), parse_datetime(b)) for a, b in case.pauses or []]
    if case.paused_at is not None:
        out.append((case.paused_at, now))
    return out


def _breach(due, stopped, paused, now):
    return due if due is not None and not paused and (stopped or now) > due else None


def migrate_case(case, codes: dict, intake_level_id, first_public, now) -> None:
    """One case, in memory. ``codes``: level id -> code; ``intake_level_id``: the first
    handoff's "from" level (None: never escalated); ``first_public``: its first public update."""
    snapshot = dict(case.policy_snapshot or {})
    targets = snapshot.get("targets")
    if not targets:
        return
    moved = intake_level_id is not None
    sla_level = codes[intake_level_id] if moved else codes[case.level_id]
    if sla_level not in targets:
        sla_level = next(iter(targets))
    snapshot["sla_level"] = sla_level
    case.policy_snapshot = snapshot
    cal = _calendar(snapshot["calendar"])
    pauses = _pauses(case, now)
    paused = case.paused_at is not None
    level_row = targets.get(codes[case.level_id], targets[sla_level])[str(case.priority)]
    # The OLA of the level holding the case: the old per-level response clock, and its work clock.
    case.ola_response_due_at = case.response_due_at
    case.ola_response_breached_at = case.response_breached_at
    case.ola_work_due_at = None if paused else cal.add(case.level_entered_at, timedelta(seconds=level_row[1]), pauses)
    case.ola_work_breached_at = _breach(case.ola_work_due_at, case.resolved_at, paused, now)
    if not case.source:  # live cases: the first contact with the customer, not the first "take"
        contacts = [t for t in (first_public, case.resolved_at) if t is not None]
        case.first_response_at = min(contacts) if contacts else None
    if moved:  # an escalation moved the due times: recompute the customer's from intake
        response, resolution = (timedelta(seconds=s) for s in targets[sla_level][str(case.priority)])
        old = (case.response_due_at, case.resolution_due_at)
        if not paused:
            case.response_due_at = cal.add(case.opened_at, response, pauses)
            case.resolution_due_at = cal.add(case.opened_at, resolution, pauses)
        changes = list(case.sla_changes or [])
        for name, before, after in zip(("response", "resolution"), old, (case.response_due_at, case.resolution_due_at)):
            if before is not None and after is not None and before != after:
                changes.append(
                    {
                        "at": now.isoformat(),
                        "clock": name,
                        "from": before.isoformat(),
                        "to": after.isoformat(),
                        "why": f"set back to the customer's SLA ({sla_level} P{case.priority}); "
                        "escalation no longer moves it",
                    }
                )
        case.sla_changes = changes
    case.response_breached_at = _breach(case.response_due_at, case.first_response_at, paused, now)
    case.resolution_breached_at = _breach(case.resolution_due_at, case.resolved_at, paused, now)
    if case.status in OPEN and not paused:
        case.next_check_at = min(case.next_check_at or now, now)


def _fields(Case, cases) -> list[str]:
    """FIELDS, or for today's models (the tests run this on cases they build) the frozen
    terms' key after 0072 moved the terms to a table of their own (stored first)."""
    if any(f.name == "policy_snapshot" for f in Case._meta.concrete_fields):
        return FIELDS
    from escalations.models.snapshots import keep_pending

    keep_pending(cases)
    return ["policy", *FIELDS[1:]]


def migrate_clocks(apps, schema_editor) -> int:
    Case = apps.get_model("escalations", "Case")
    Escalation = apps.get_model("escalations", "Escalation")
    Note = apps.get_model("escalations", "Note")
    Level = apps.get_model("escalations", "Level")
    codes = dict(Level.objects.values_list("pk", "code"))
    now = timezone.now()
    done, last = 0, 0
    while True:
        cases = list(Case.objects.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not cases:
            return done
        ids = [c.pk for c in cases]
        intake = {}
        for case_id, from_level_id in (
            Escalation.objects.filter(case_id__in=ids)
            .order_by("case_id", "created_at", "pk")
            .values_list("case_id", "from_level_id")
        ):
            intake.setdefault(case_id, from_level_id)
        public = dict(
            Note.objects.filter(case_id__in=ids, kind="public")
            .values("case_id")
            .annotate(first=Min("created_at"))
            .values_list("case_id", "first")
        )
        for case in cases:
            migrate_case(case, codes, intake.get(case.pk), public.get(case.pk), now)
        Case.objects.bulk_update(cases, _fields(Case, cases), batch_size=BATCH)
        done += len(cases)
        last = ids[-1]


class Migration(migrations.Migration):
    dependencies = [("escalations", "0020_sla_ola_clocks")]

    operations = [migrations.RunPython(migrate_clocks, migrations.RunPython.noop)]
