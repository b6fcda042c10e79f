"""The demo's organisation: one category, escalation path and team per level for each use
case, the people in them, and one login per role. Everything is looked up by a natural
key first, so running it again changes nothing."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from escalations.management.demo.stories import DOMAINS, Domain
from escalations.models import Category, EscalationPath, Level, PathStep, StaffProfile, Team

PASSWORD = "demo-pass-2026"
DEMO_DOMAIN = "demo.example"
ROLE_OF_LEVEL = {"L1": "Agent", "L2": "Specialist", "L3": "Senior", "L4": "Expert", "EXEC": "Executive"}
# The logins printed by ``seed_demo`` and listed in README, in the order of the roles table
# of docs/authorization.md (tests/test_seed_demo.py holds the three together).
LOGINS = [  # username, role, level, where
    ("agent", "Agent", "L1", "IT Service Desk"),
    ("agent2", "Agent", "L1", "Customer Care (billing)"),
    ("specialist", "Specialist", "L2", "IT Infrastructure"),
    ("senior", "Senior", "L3", "IT Platform Engineering"),
    ("expert", "Expert", "L4", "CISO Office (security)"),
    ("executive", "Executive", "EXEC", "every executive team"),
    ("manager", "Manager", None, "manages every team; decides no approvals"),
    ("auditor", "Auditor", None, "reads everything, changes nothing"),
]
EXECUTIVE = "executive"
_HASHED: list[str] = []


def _password() -> str:
    """One hash for every demo login (hashing is slow on purpose; 30 of them took 20 s)."""
    if not _HASHED:
        _HASHED.append(make_password(PASSWORD))
    return _HASHED[0]


def _user(username: str, role: str, level: str | None):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": f"{username}@{DEMO_DOMAIN}",
            "is_staff": True,
            "first_name": username.capitalize(),
        },
    )
    if created:
        user.password = _password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=role))
    if level:
        StaffProfile.objects.get_or_create(user=user, defaults={"level": Level.objects.get(code=level)})
    return user


def build() -> dict:
    """Categories, teams, paths and people; returns {"users": {name: user}, "staff":
    {domain key: {level code: [users]}}, "category": {domain key: Category}, "team": {...}}."""
    levels = {lv.code: lv for lv in Level.objects.all()}
    users = {name: _user(name, role, level) for name, role, level, _ in LOGINS}
    manager = users["manager"]
    out = {"users": users, "staff": {}, "category": {}, "team": {}}
    for d in DOMAINS:
        out["category"][d.key], out["team"][d.key], out["staff"][d.key] = _domain(d, levels, users, manager)
    # The standard ladder (categories without their own path) names the IT teams, so a
    # case in any other category still gets a team at every level.
    for step in PathStep.objects.filter(path__category__isnull=True, team__isnull=True).select_related("level"):
        step.team = out["team"]["it"].get(step.level.code)
        step.save(update_fields=["team"])
    admin, created = get_user_model().objects.get_or_create(
        username="admin", defaults={"email": f"admin@{DEMO_DOMAIN}", "is_staff": True, "is_superuser": True}
    )
    if created:
        admin.password = _password()
        admin.save(update_fields=["password"])
    return out


def _domain(d: Domain, levels: dict, users: dict, manager):
    code, name = d.category
    category, _ = Category.objects.get_or_create(code=code, defaults={"name": name})
    teams = {}
    for level_code, team_name in d.teams.items():
        slug = "".join(ch if ch.isalnum() else "-" for ch in team_name.lower())
        team, _ = Team.objects.get_or_create(
            name=team_name,
            defaults={
                "level": levels[level_code],
                "email": f"{slug}@{DEMO_DOMAIN}",
                "manager": manager,
                "capacity": 40,
            },
        )
        team.skills.add(category)
        teams[level_code] = team
    path, created = EscalationPath.objects.get_or_create(name=d.path, defaults={"category": category})
    if created:
        for order, level_code in enumerate(["L1", "L2", "L3", "L4", "EXEC"], start=1):
            PathStep.objects.create(path=path, order=order, level=levels[level_code], team=teams[level_code])
    staff = {}
    for level_code, names in {**d.staff, "EXEC": [EXECUTIVE]}.items():
        staff[level_code] = []
        for username in names:
            user = users.get(username) or _user(username, ROLE_OF_LEVEL[level_code], level_code)
            teams[level_code].members.add(user)
            staff[level_code].append(user)
    return category, teams, staff
