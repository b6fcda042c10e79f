"""The searched text in its side table (``models/search.py``, migration 0070): the database
keeps it equal to the cases on every write path, the search box, the portal and the admin
read it through its indexes, and the sweep's escalations never write to it (issue 18)."""

import pytest
from django.db import connection
from django.utils import timezone

from escalations.automation.sweep import run_sweep
from escalations.models import Case, CaseSearch, TriggerRule
from escalations.selectors import cases as case_selectors
from escalations.selectors import invariants
from escalations.selectors import portal as portal_selectors

from .factories import open_case

pytestmark = [pytest.mark.django_db]
R = TriggerRule


def _text(case) -> tuple:
    row = CaseSearch.objects.get(pk=case.pk)
    return row.title, row.requester_name, row.requester_email


def _search(user, q):
    page = case_selectors.queue_page(
        user, scope="all", filters=case_selectors.QueueFilters(q=q), now=timezone.now(), per_page=50
    )
    return [row.case.pk for row in page.rows]


def test_a_new_case_gets_its_search_row_and_the_search_box_finds_it(agent):
    case = open_case(agent, title="VPN drops every hour", requester_name="Olga Berg", requester_email="olga@acme.test")
    assert _text(case) == ("VPN drops every hour", "Olga Berg", "olga@acme.test")
    other = open_case(agent, title="Printer jam")
    assert _search(agent, "vpn") == [case.pk]
    assert _search(agent, "BERG") == [case.pk]
    assert _search(agent, "acme.test") == [case.pk]
    assert _search(agent, "printer") == [other.pk]
    assert _search(agent, "vpn hour") == [case.pk] and _search(agent, "vpn printer") == []


def test_the_portal_finds_a_requesters_cases_by_address_in_any_case(agent):
    case = open_case(agent, requester_email="Rita.Q@Example.com")
    open_case(agent, requester_email="someone@example.com")
    assert [c.pk for c in portal_selectors.requester_cases("rita.q@example.com")] == [case.pk]


def test_an_edit_of_the_text_rewrites_the_row_and_other_edits_leave_it(agent):
    case = open_case(agent, title="Old title")
    Case.objects.filter(pk=case.pk).update(title="New title", requester_email="new@example.com")
    assert _text(case) == ("New title", "Rita Requester", "new@example.com")
    c = Case.objects.get(pk=case.pk)
    c.requester_name = "Rita Renamed"
    c.save()  # the ORM names every column; only a changed text rewrites the row
    assert _text(case) == ("New title", "Rita Renamed", "new@example.com")
    assert _search(agent, "renamed") == [case.pk] and _search(agent, "old") == []


@pytest.mark.postgres
def test_set_based_inserts_and_deletes_keep_the_side_table(agent):
    """Importers and seeders insert cases with INSERT ... SELECT; a raw delete removes them."""
    case = open_case(agent)
    copies = 3
    with connection.cursor() as cur:
        cols = [f.column for f in Case._meta.concrete_fields if not f.primary_key]
        listed = ", ".join(f'"{c}"' for c in cols)
        picked = ", ".join(
            "'Copied ' || g || ' ' || title" if c == "title" else ("source || g" if c == "external_id" else f'"{c}"')
            for c in cols
        )
        cur.execute(
            f"INSERT INTO escalations_case ({listed}) SELECT {picked} FROM escalations_case, "
            f"generate_series(1, {copies}) g WHERE id = %s",
            [case.pk],
        )
    copied = list(Case.objects.filter(title__startswith="Copied ").order_by("pk"))
    assert len(copied) == copies
    assert all(_text(c)[0] == c.title for c in copied)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM escalations_case WHERE title LIKE 'Copied %%'")
    assert not CaseSearch.objects.filter(pk__in=[c.pk for c in copied]).exists()
    assert CaseSearch.objects.filter(pk=case.pk).exists()


def test_the_invariant_holds_and_catches_a_side_row_that_differs_or_is_missing(agent):
    case = open_case(agent)
    second = open_case(agent)

    def finding():
        return next(f for f in invariants.check() if "search text" in f.name)

    assert finding().held
    CaseSearch.objects.filter(pk=case.pk).update(title="Tampered")
    found = finding()
    assert not found.held and found.detail == "1 differ"
    CaseSearch.objects.filter(pk=second.pk).delete()
    assert finding().detail == "2 differ"


@pytest.mark.postgres
def test_a_sweep_escalation_writes_nothing_to_the_side_table(clock, agent):
    """What the side table is for: the sweep's batch update names no searched column, so
    its trigger never fires (counted by PostgreSQL's per-transaction table statistics)."""
    TriggerRule.objects.update(is_active=False)
    TriggerRule.objects.create(
        name="escalate at 100",
        condition=R.Condition.SLA_PERCENT,
        params={"target": "response", "percent": 100},
        action=R.Action.ESCALATE_NEXT,
        order=1,
    )

    def written() -> tuple[int, int]:
        # This backend's counts not yet flushed to the cumulative statistics: they only grow
        # inside the test's transaction (earlier tests' counts may be among them: compare).
        with connection.cursor() as cur:
            cur.execute(
                "SELECT n_tup_ins, n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables WHERE relname = %s",
                ["escalations_casesearch"],
            )
            return cur.fetchone()

    start = written()
    cases = [open_case(agent, title=f"Case {n}") for n in range(3)]
    before = written()
    assert before[0] - start[0] == 3  # the three intakes: the counts see the trigger's writes
    clock.advance(days=3)
    assert run_sweep().escalations == 3
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("level__code", flat=True)) == {"L2"}
    assert written() == before


@pytest.mark.postgres
def test_the_search_box_the_portal_and_the_admin_read_the_side_tables_indexes(agent):
    open_case(agent)
    queries = {
        "casesearch_title_trgm": Case.objects.filter(search_text__title__icontains="printer"),
        "casesearch_requester_name_trgm": Case.objects.filter(search_text__requester_name__icontains="rita"),
        "casesearch_requester_email_trgm": Case.objects.filter(search_text__requester_email__icontains="example"),
        "casesearch_email_upper": Case.objects.filter(search_text__requester_email__iexact="rita@example.com"),
    }
    for index, qs in queries.items():
        # No sequential scan and no plain index scan: the side table's rows can then only be
        # found through a bitmap on an index whose condition is the search (a full walk of
        # the primary key, which a near-empty test table would prefer, is ruled out).
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL enable_indexscan = off")
            plan = qs.explain()
            cur.execute("RESET enable_seqscan")
            cur.execute("RESET enable_indexscan")
        assert index in plan, plan


@pytest.mark.postgres
def test_the_case_table_carries_no_search_index():
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'escalations_case'")
        defs = [d for (d,) in cur.fetchall()]
    assert not [d for d in defs if "gin_trgm_ops" in d or "upper(" in d.lower()], defs
