"""A way to every page: starting from the desk home and following links only (no typed
URLs), each role reaches every staff page it may use; the approvals list decides in place."""

from __future__ import annotations

import re
from collections import deque

import pytest
from django.urls import Resolver404, resolve

from escalations.models import ApprovalStatus

from .factories import open_case

pytestmark = pytest.mark.django_db

HREF = re.compile(r'href="(/[^"#?]*)')
SKIP = ("/logout/", "/admin/logout/", "/static/")


def crawl(client, start="/desk/", limit=120) -> set[str]:
    """URL names reached by following links from the start page (one visit per URL name,
    admin model pages not expanded beyond their changelist)."""
    seen_urls, reached, queue = set(), set(), deque([start])
    while queue and len(seen_urls) < limit:
        url = queue.popleft()
        if url in seen_urls:
            continue
        seen_urls.add(url)
        try:
            match = resolve(url)
        except Resolver404:
            continue
        name = match.view_name
        response = client.get(url, follow=True)
        if response.status_code != 200:
            continue
        reached.add(name)
        final = response.redirect_chain[-1][0] if response.redirect_chain else url
        try:
            reached.add(resolve(final.split("?")[0]).view_name)
        except Resolver404:
            pass
        if "text/html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode()):
            if href.startswith(SKIP) or href in seen_urls:
                continue
            try:
                target = resolve(href).view_name
            except Resolver404:
                continue
            # expand an admin model only to its changelist; one case page is enough
            if target.startswith("admin:") and not target.endswith(("_changelist", "_whatif", "index")):
                continue
            if target in reached and target in ("case-detail", "kb-detail", "admin:app_list"):
                continue
            queue.append(href)
    return reached


@pytest.fixture
def world(agent, specialist, manager):
    case = open_case(agent, title="Router down")
    from escalations import workflow

    workflow.approval_request(case_id=case.pk, actor=manager, kind="spend", amount="500", description="A new router")
    return case


EVERYONE = {"home", "my-queue", "team-queue", "collab-queue", "kb-list", "case-detail"}


@pytest.mark.parametrize(
    ("role", "expected", "absent"),
    [
        ("agent", EVERYONE | {"case-new"}, {"approvals", "reports-index", "audit-log"}),
        ("specialist", EVERYONE | {"case-new", "approvals"}, {"reports-index", "audit-log"}),
        (
            "manager",
            EVERYONE
            | {
                "case-new",
                "reports-index",
                "reports-detail",
                "audit-log",
                "audit-verify",
                "admin:index",
                "admin:escalations_scoringpolicy_whatif",
                "admin:escalations_sweepheartbeat_changelist",
                "admin:escalations_triggerrule_changelist",
            },
            {"approvals"},
        ),
        ("auditor", EVERYONE | {"audit-log", "audit-verify", "admin:index"}, {"case-new", "reports-index"}),
    ],
)
def test_every_page_is_reachable_from_the_menu(client, request, world, role, expected, absent):
    user = request.getfixturevalue(role)
    client.force_login(user)
    reached = crawl(client)
    assert expected <= reached, f"{role} cannot reach {sorted(expected - reached)}"
    assert not (absent & reached), f"{role} was offered {sorted(absent & reached)}"


def test_menu_counts_waiting_approvals(client, specialist, agent, world):
    client.force_login(specialist)
    assert "Approvals waiting (1)" in client.get("/desk/", follow=True).content.decode()
    client.force_login(agent)
    assert "Approvals waiting" not in client.get("/queue/mine/").content.decode()


def test_decide_from_the_approvals_list(client, specialist, world):
    client.force_login(specialist)
    page = client.get("/approvals/").content.decode()
    approval = world.approvals.get()
    assert "Router down" in page and "EUR 500.00" in page and f"decide{approval.pk}-decision" in page
    response = client.post(
        f"/approvals/{approval.pk}/decide/", {"back": "approvals", f"decide{approval.pk}-decision": "approve"}
    )
    assert response.status_code == 302 and response["Location"] == "/approvals/"
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_by == specialist
    assert "No approval is waiting" in client.get("/approvals/").content.decode()
