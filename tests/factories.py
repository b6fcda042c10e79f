"""factory_boy factories; the default data (levels, groups, policy, path, rules) comes from
the migrations, so factories attach to it rather than inventing a second ladder."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from escalations import workflow
from escalations.domain.defaults import ROLE_LEVEL
from escalations.models import Category, Level, StaffProfile, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-for-tests-1")
    is_staff = True


def staff(role: str, username: str | None = None, level_code: str | None = None, **kwargs):
    """A user in a role group with a staff profile at the role's level."""
    user = UserFactory(username=username or factory.Faker._get_faker().unique.user_name(), **kwargs)
    user.groups.add(Group.objects.get(name=role))
    code = level_code or ROLE_LEVEL.get(role)
    if code:
        StaffProfile.objects.update_or_create(user=user, defaults={"level": Level.objects.get(code=code)})
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.LazyAttribute(lambda c: c.code.replace("-", " ").title())


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    level = factory.LazyFunction(lambda: Level.objects.get(code="L1"))
    email = factory.LazyAttribute(lambda t: f"{t.name.lower().replace(' ', '-')}@example.com")


def open_case(actor, category=None, **kwargs):
    fields = dict(
        title="Printer on fire",
        requester_name="Rita Requester",
        requester_email="rita@example.com",
        category=category or CategoryFactory(),
        impact=2,
        urgency=2,
        description="Smoke everywhere.",
    )
    fields.update(kwargs)
    return workflow.case_open(actor=actor, **fields)


HANDOFF = workflow.Handoff(
    summary="Customer cannot log in since the upgrade.",
    steps_tried="Reset password; cleared sessions; checked the status page.",
    customer_impact="Whole finance team blocked.",
    knowledge_consulted="KB-12 login loops",
)


def fresh(case):
    """The case as the database has it now."""
    from escalations.models import Case

    return Case.objects.select_related("level", "team", "highest_level").get(pk=case.pk)


def level(code: str) -> Level:
    return Level.objects.get(code=code)


class FakeClock:
    """Django's ``timezone.now`` made controllable (the workflow reads the time through it)."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **kwargs):
        from datetime import timedelta

        self.now += timedelta(**kwargs)
        return self.now


def hand_model(target="breach", weights=None, intercept=-1.0):
    """A stored risk model written by hand (the JSON training stores): a logistic model on
    plain (unscaled) inputs, log-odds = intercept + weights; P1 scores 0.88, others 0.27."""
    from escalations.intelligence.risk.features import make_spec
    from escalations.models import RiskModel

    spec = make_spec([])
    weights = {"priority:1": 3.0, **(weights or {})}
    names = spec["names"]
    params = {
        "names": names,
        "coefficients": [weights.get(n, 0.0) for n in names],
        "intercept": intercept,
        "means": [0.0] * len(names),
        "scales": [1.0] * len(names),
        "categories": spec["categories"],
        "rates": {"category": {}, "requester": {}, "team": {}, "all": [0, 0]},
    }
    return RiskModel.objects.create(target=target, features=names, parameters=params)
