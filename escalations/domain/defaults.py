"""Default data created by ``migrate`` (and safe to apply again): the five levels of the
reference text, their authority, two calendars, the default policy, path and rules,
the role groups, and the django-q2 schedules.

Functions take the ``apps`` registry so the data migration can use historical models.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

LEVELS = [
    # rank, code, name, response, resolution, authority, typical issues, resources, decision power
    (
        1,
        "L1",
        "Level 1 - Frontline",
        timedelta(minutes=15),
        timedelta(hours=4),
        "Limited",
        "Routine requests, basic troubleshooting",
        "Standard tools, knowledge base",
        "Policy adherence only",
    ),
    (
        2,
        "L2",
        "Level 2 - Specialist",
        timedelta(hours=1),
        timedelta(hours=8),
        "Moderate",
        "Complex technical issues, policy exceptions",
        "Advanced tools, specialized knowledge",
        "Limited approval authority",
    ),
    (
        3,
        "L3",
        "Level 3 - Senior",
        timedelta(hours=4),
        timedelta(hours=24),
        "Significant",
        "Critical incidents, system failures",
        "Expert resources, vendor contacts",
        "Moderate budget authority",
    ),
    (
        4,
        "L4",
        "Level 4 - Expert",
        timedelta(hours=8),
        timedelta(hours=48),
        "High",
        "Major outages, security breaches",
        "Senior specialists, external resources",
        "Significant budget authority",
    ),
    (
        5,
        "EXEC",
        "Executive",
        timedelta(hours=24),
        timedelta(hours=72),
        "Maximum",
        "Business-critical issues, legal matters",
        "All organizational resources",
        "Full decision authority",
    ),
]

# The authority matrix: (level code, kind) -> limit; None = no limit; absent = may not decide.
GRANTS = {
    ("L2", "spend"): Decimal("1000"),
    ("L2", "policy_exception"): None,
    ("L3", "spend"): Decimal("10000"),
    ("L3", "policy_exception"): None,
    ("L4", "spend"): Decimal("100000"),
    ("L4", "policy_exception"): None,
    ("L4", "major_incident"): None,
    ("EXEC", "spend"): None,
    ("EXEC", "policy_exception"): None,
    ("EXEC", "major_incident"): None,
}

ROLE_LEVEL = {"Agent": "L1", "Specialist": "L2", "Senior": "L3", "Expert": "L4", "Executive": "EXEC"}

DOMAIN_MODELS = [
    "level",
    "category",
    "team",
    "staffprofile",
    "authoritygrant",
    "businesscalendar",
    "workingrange",
    "holiday",
    "slapolicy",
    "slatarget",
    "escalationpath",
    "pathstep",
    "triggerrule",
    "case",
    "escalation",
    "note",
    "approvalrequest",
    "review",
    "knowledgearticle",
    "notification",
    "rulefiring",
    "sweepheartbeat",
    "audithead",
    "auditseal",
    "scoringpolicy",
    "routingpolicy",
    "riskmodel",
    "textmodel",
    "casesuggestion",
    "collaboration",
    "mailbox",
    "inboundmessage",
    "authoritychange",
    "attachment",
    "alertseverity",
    "alertrule",
    "alertcase",
    "teamwebhook",
    "satisfactionsurvey",
    "deflection",
    "importedsource",
    "cannedreply",
]
CONFIG_MODELS = [
    "level",
    "category",
    "team",
    "staffprofile",
    "authoritygrant",
    "businesscalendar",
    "workingrange",
    "holiday",
    "slapolicy",
    "slatarget",
    "escalationpath",
    "pathstep",
    "triggerrule",
    "scoringpolicy",
    "routingpolicy",
    "mailbox",
    "alertseverity",
    "alertrule",
    "teamwebhook",
    "cannedreply",
]
STAFF_PERMS = [
    "work_case",
    "escalate_case",
    "close_case",
    "add_case",
    "add_note",
    "add_knowledgearticle",
    "change_knowledgearticle",
]
RECEIVER_PERMS = ["accept_escalation", "deescalate_case", "decide_approval"]


def _view_all() -> list[str]:
    return [f"view_{m}" for m in DOMAIN_MODELS]


ROLE_PERMS = {
    "Agent": _view_all() + STAFF_PERMS,
    "Specialist": _view_all() + STAFF_PERMS + RECEIVER_PERMS,
    "Senior": _view_all() + STAFF_PERMS + RECEIVER_PERMS + ["review_case"],
    "Expert": _view_all() + STAFF_PERMS + RECEIVER_PERMS + ["review_case"],
    "Executive": _view_all() + STAFF_PERMS + RECEIVER_PERMS + ["review_case"],
    "Manager": _view_all()
    + STAFF_PERMS
    + RECEIVER_PERMS
    + ["review_case", "manage_desk", "view_audit"]
    + [f"{verb}_{m}" for m in CONFIG_MODELS for verb in ("add", "change", "delete")]
    + ["auth.view_user", "add_authoritychange"],  # proposes; a second manager decides (four-eyes)
    "Auditor": _view_all() + ["view_audit"],
}


def ensure_levels(apps) -> None:
    Level = apps.get_model("escalations", "Level")
    AuthorityGrant = apps.get_model("escalations", "AuthorityGrant")
    for rank, code, name, resp, resol, auth, issues, resources, power in LEVELS:
        Level.objects.update_or_create(
            code=code,
            defaults=dict(
                rank=rank,
                name=name,
                response_target=resp,
                resolution_target=resol,
                authority=auth,
                typical_issues=issues,
                resources=resources,
                decision_power=power,
            ),
        )
    for (code, kind), limit in GRANTS.items():
        AuthorityGrant.objects.get_or_create(level=Level.objects.get(code=code), kind=kind, defaults={"limit": limit})


def ensure_calendars(apps):
    Calendar = apps.get_model("escalations", "BusinessCalendar")
    Range = apps.get_model("escalations", "WorkingRange")
    always, created = Calendar.objects.get_or_create(name="24x7", defaults={"timezone": "UTC"})
    if created:
        for day in range(7):
            Range.objects.create(calendar=always, weekday=day, start=time(0), end=time(0), ends_at_midnight=True)
    office, created = Calendar.objects.get_or_create(name="Mon-Fri 08:00-18:00", defaults={"timezone": "Europe/Berlin"})
    if created:
        for day in range(5):
            Range.objects.create(calendar=office, weekday=day, start=time(8), end=time(18))
    return always, office


def ensure_policy_path_rules(apps, always, office) -> None:
    """The default policy runs on the 24x7 calendar (a support desk that never closes);
    a business-hours policy is there to switch to."""
    Level = apps.get_model("escalations", "Level")
    Policy = apps.get_model("escalations", "SlaPolicy")
    Path = apps.get_model("escalations", "EscalationPath")
    Step = apps.get_model("escalations", "PathStep")
    Rule = apps.get_model("escalations", "TriggerRule")
    if not Policy.objects.filter(is_default=True).exists():
        Policy.objects.get_or_create(name="Standard 24x7", defaults={"calendar": always, "is_default": True})
    Policy.objects.get_or_create(name="Business hours", defaults={"calendar": office})
    path, created = Path.objects.get_or_create(name="Standard ladder", defaults={"category": None})
    if created:
        for order, level in enumerate(Level.objects.order_by("rank"), start=1):
            Step.objects.create(path=path, order=order, level=level)
    defaults = [
        (
            10,
            "Warn at 50% of the response target",
            "sla_percent",
            {"target": "response", "percent": 50},
            "notify",
            ["assignee", "team"],
        ),
        (
            20,
            "Warn at 75% of the response target",
            "sla_percent",
            {"target": "response", "percent": 75},
            "notify",
            ["assignee", "team", "team_manager"],
        ),
        (
            30,
            "Escalate when the response target is used up",
            "sla_percent",
            {"target": "response", "percent": 100},
            "escalate_next",
            [],
        ),
        (
            40,
            "Warn at 75% of the resolution target",
            "sla_percent",
            {"target": "resolution", "percent": 75},
            "notify",
            ["assignee", "team_manager"],
        ),
        (
            50,
            "Tell the next level when the resolution target is breached",
            "sla_percent",
            {"target": "resolution", "percent": 100},
            "notify",
            ["team_manager", "next_level"],
        ),
    ]
    for order, name, condition, params, action, recipients in defaults:
        Rule.objects.get_or_create(
            name=name,
            defaults=dict(order=order, condition=condition, params=params, action=action, recipients=recipients),
        )


def ensure_permissions(apps) -> None:
    """Permissions normally appear after all migrations (post_migrate); groups need them now."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for label in ("auth", "escalations"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_contenttypes(app_config, verbosity=0, apps=apps)
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None


def ensure_groups(apps) -> None:
    """Each role's permissions; a bare codename is this app's, ``app.codename`` another's."""
    from django.db.models import Q

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = Q(pk__in=[])
        for name in codenames:
            app, _, codename = name.rpartition(".")
            wanted |= Q(content_type__app_label=app or "escalations", codename=codename)
        group.permissions.add(*Permission.objects.filter(wanted))


# Monitoring intake: the alert's ``severity`` label -> (impact, urgency); the priority follows.
ALERT_SEVERITIES = {
    "critical": (1, 1),
    "high": (1, 2),
    "error": (1, 2),
    "warning": (2, 2),
    "info": (3, 3),
}


def ensure_alert_severities(apps) -> None:
    AlertSeverity = apps.get_model("escalations", "AlertSeverity")
    for label, (impact, urgency) in ALERT_SEVERITIES.items():
        AlertSeverity.objects.get_or_create(label=label, defaults={"impact": impact, "urgency": urgency})


# django-q2 schedules: name -> (the task's dotted path, minutes between runs).
SCHEDULES = {
    "escalations.sweep": ("escalations.automation.tasks.sweep", 1),
    "escalations.flush_outbox": ("escalations.automation.tasks.flush_outbox", 1),
    "escalations.risk_retrain": ("escalations.automation.tasks.risk_retrain", 24 * 60),  # daily
    "escalations.text_retrain": ("escalations.automation.tasks.text_retrain", 24 * 60),  # daily
    "escalations.risk_score_new": ("escalations.automation.tasks.risk_score_new", 5),  # new cases, for risk rules
    "escalations.fetch_mail": ("escalations.automation.tasks.fetch_mail", 1),  # MAILBOX_URLS; nothing to do without
    # AUDIT_CHECKPOINT_DIR; nothing to do without. Hourly: a cut is detectable back to the last hour.
    "escalations.audit_checkpoint": ("escalations.automation.tasks.audit_checkpoint", 60),
    # The forecast's tables for the day: computed once after midnight or an import, not per view.
    "escalations.warm_reports": ("escalations.automation.tasks.warm_reports", 60),
}


def declare_schedules(Schedule) -> int:  # noqa: N803 - a model class
    """Create or update each schedule by its name; running it twice changes nothing.

    ``Schedule`` is django-q2's model, or a migration's historical copy of it."""
    for name, (func, minutes) in SCHEDULES.items():
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )
    return len(SCHEDULES)


def ensure_schedules(apps) -> None:
    declare_schedules(apps.get_model("django_q", "Schedule"))


def ensure_system_actor(apps) -> None:
    """The ``system`` user that automatic and channel actions are recorded under; it
    cannot sign in (inactive, no usable password)."""
    from django.contrib.auth.hashers import make_password

    User = apps.get_model("auth", "User")
    User.objects.get_or_create(
        username="system",
        defaults={"is_active": False, "first_name": "Desk", "last_name": "automation", "password": make_password(None)},
    )


def ensure_all(apps) -> None:
    ensure_levels(apps)
    always, office = ensure_calendars(apps)
    ensure_policy_path_rules(apps, always, office)
    ensure_groups(apps)
    ensure_schedules(apps)


LOW_SATISFACTION_RULE = "Low satisfaction: follow-up for the team manager"


def ensure_satisfaction_rule(apps) -> None:
    """A score of 1 or 2 opens a follow-up case for the team and tells its manager
    (a manager may switch it to a plain notice or off in the admin)."""
    Rule = apps.get_model("escalations", "TriggerRule")
    Rule.objects.get_or_create(
        name=LOW_SATISFACTION_RULE,
        defaults=dict(
            order=900,
            condition="low_satisfaction",
            params={"at_most": 2},
            action="follow_up",
            recipients=["team_manager"],
        ),
    )
