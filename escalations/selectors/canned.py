"""Which canned replies a user is offered (active ones of their teams, and everyone's),
and a reply's text with its placeholders filled for one case."""

from __future__ import annotations

import re

from django.db.models import Q

from escalations.models import CannedReply, Case
from escalations.models.canned import PLACEHOLDERS

_PLACEHOLDER = re.compile(r"\{(\w{1,40})\}")


def replies_for(user) -> list[CannedReply]:
    teams = user.teams.values("pk") if getattr(user, "is_authenticated", False) else []
    return list(
        CannedReply.objects.filter(Q(team__isnull=True) | Q(team__in=teams), is_active=True)
        .select_related("team")
        .order_by("name", "pk")[:200]
    )


def fill(text: str, case: Case, user) -> str:
    """Plain text substitution of the known names only (no format strings: a brace the
    reply does not mean as a placeholder, or an attribute lookup, stays as typed). The
    result is text; pages escape it as any other."""
    values = {
        "requester_name": case.requester_name,
        "case_ref": f"[case #{case.pk}]",
        "case_title": case.title,
        "agent_name": (user.get_full_name() or user.get_username()) if user is not None else "",
    }
    assert set(values) == set(PLACEHOLDERS)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)
