"""The team lead's live desk: open cases per level and team against capacity, what breaches
soon, handoffs nobody accepted yet, today's SLA so far; and a page that refreshes itself in
a real browser without a reload."""

from datetime import UTC, date, datetime

import pytest
from django.utils import timezone

from escalations import workflow
from escalations.models import Case
from escalations.reports import REGISTRY, Filters

from .factories import HANDOFF, TeamFactory, open_case

DAY = date(2025, 6, 2)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 6, 2, hour, minute, tzinfo=UTC)


def live(now: datetime, **filters) -> dict:
    result = REGISTRY["live"].run(Filters(date_from=DAY, date_to=DAY, now=now, **filters))
    return {t.key: t.rows for t in result.tables}


@pytest.mark.django_db
def test_the_live_desk_right_now(monkeypatch, agent, specialist):
    clock = {"t": at(8)}
    monkeypatch.setattr(timezone, "now", lambda: clock["t"])
    team = TeamFactory(name="Frontline", capacity=4)
    waiting, worked, solved = (open_case(agent, team=team, title=t) for t in ("Waiting", "Worked", "Solved"))
    workflow.case_take(case_id=worked.pk, actor=agent)
    workflow.case_take(case_id=solved.pk, actor=agent)
    workflow.case_resolve(case_id=solved.pk, actor=agent, summary="Fixed")
    clock["t"] = at(9)
    workflow.case_escalate(case_id=worked.pk, actor=agent, handoff=HANDOFF)
    due = Case.objects.get(pk=waiting.pk).resolution_due_at
    now = at(11)
    t = live(now)
    l1 = next(r for r in t["open_now"] if r[0] == "L1")
    assert l1[1:5] == ["Frontline", 1, 4, 25.0]  # the escalated one left L1's hands
    assert l1[5] == 1  # nobody has taken "Waiting"
    within = {h: l1[7 + i] for i, h in enumerate((1, 4, 24))}
    hours_left = (due - now).total_seconds() / 3600
    assert within[24] == (1 if 0 < hours_left <= 24 else 0)
    assert within[1] <= within[4] <= within[24]
    unaccepted = t["unaccepted"]
    assert [r[:4] for r in unaccepted] == [["L2", unaccepted[0][1], 1, 1]] and unaccepted[0][4] == 2.0
    today = {r[0]: r for r in t["today"]}
    assert today["resolution"][1:4] == [1, 1, 0]  # "Solved", resolved in time


@pytest.mark.django_db
def test_the_live_page_and_its_bounded_refresh(client, manager, agent):
    client.force_login(manager)
    page = client.get("/admin/reports/live/")
    assert page.status_code == 200 and 'data-refresh="30"' in page.content.decode()
    assert 'data-refresh="2"' in client.get("/admin/reports/live/?refresh=1").content.decode()
    assert 'data-refresh="600"' in client.get("/admin/reports/live/?refresh=9999").content.decode()
    assert 'data-refresh="30"' in client.get("/admin/reports/live/?refresh=x9").content.decode()
    assert client.get("/admin/reports/live/?refresh=%00x").status_code == 400  # NUL: refused before any view
    assert "data-refresh" not in client.get("/admin/reports/volume/?refresh=2").content.decode()
    client.force_login(agent)
    assert client.get("/admin/reports/live/").status_code in (302, 403)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_live_page_updates_without_a_reload(desk, agent):
    from playwright.sync_api import expect

    from .factories import staff

    staff("Manager", "mona", is_staff=True)
    team = TeamFactory(name="Nightshift", capacity=10)
    open_case(agent, team=team, title="First")
    page = desk.anonymous()
    page.goto(desk.url("/admin/login/"))
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(desk.url("/admin/reports/live/?refresh=2"))
    row = page.locator("#open_now tbody tr", has_text="Nightshift")
    expect(row.locator("td").nth(2)).to_have_text("1")
    page.evaluate("window.__stayed = true")
    open_case(agent, team=team, title="Second")
    expect(row.locator("td").nth(2)).to_have_text("2", timeout=15_000)
    assert page.evaluate("window.__stayed") is True  # same document: no reload
