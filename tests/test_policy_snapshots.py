"""The frozen SLA terms in a table of their own (``models/snapshots.py``, migration 0072):
cases that froze the same terms share one row, the case row keeps only its key, every
write path stores the row before the case that points at it, a row in use cannot be
deleted, and the sweep reads each distinct set of terms once (issue 18)."""

import importlib
import json
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalations import workflow
from escalations.automation.sweep import run_sweep
from escalations.core import config_cache
from escalations.domain import clock as clocks
from escalations.importers import FORMATS, run_import
from escalations.models import Case, PolicySnapshot, SlaPolicy, TriggerRule, snapshots
from escalations.workflow import sweep_fast

from .factories import open_case

pytestmark = [pytest.mark.django_db]
R = TriggerRule
FIXTURES = Path(__file__).parent / "fixtures"


def _all_keys_stored() -> None:
    """Every case's key names a stored row, checked now rather than at commit."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute(
            "SELECT count(*) FROM escalations_case c WHERE c.policy_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM escalations_policysnapshot s WHERE s.digest = c.policy_id)"
        )
        assert cur.fetchone()[0] == 0


def test_cases_opened_under_the_same_terms_share_one_row(agent):
    first = open_case(agent, title="One")
    second = open_case(agent, title="Two")
    expected = clocks.with_sla_level(clocks.freeze_policy(SlaPolicy.objects.default()), "L1")
    assert first.policy_id == second.policy_id == snapshots.digest_of(expected)
    assert PolicySnapshot.objects.count() == 1
    assert PolicySnapshot.objects.get().body == expected
    fresh = Case.objects.get(pk=first.pk)
    assert fresh.policy_snapshot == expected and fresh.policy_snapshot["policy"] == "Standard 24x7"
    _all_keys_stored()


def test_terms_read_back_in_a_process_that_never_saw_them(agent):
    case = open_case(agent)
    snapshots._BODIES.clear()  # as a fresh worker would start
    with CaptureQueriesContext(connection) as queries:
        terms = Case.objects.get(pk=case.pk).policy_snapshot
        again = Case.objects.get(pk=case.pk).policy_snapshot
    assert terms == again and terms["sla_level"] == "L1"
    assert sum("escalations_policysnapshot" in q["sql"] for q in queries.captured_queries) == 1


def test_a_new_policy_gives_new_cases_new_terms_and_leaves_old_ones(agent):
    before = open_case(agent)
    office = SlaPolicy.objects.get(name="Business hours")
    SlaPolicy.objects.exclude(pk=office.pk).update(is_default=False)
    SlaPolicy.objects.filter(pk=office.pk).update(is_default=True)
    config_cache.clear()
    after = open_case(agent)
    assert before.policy_id != after.policy_id and PolicySnapshot.objects.count() == 2
    snapshots._BODIES.clear()
    terms = {c.pk: Case.objects.get(pk=c.pk).policy_snapshot["policy"] for c in (before, after)}
    assert terms == {before.pk: "Standard 24x7", after.pk: "Business hours"}


def test_a_case_without_terms_points_at_nothing(agent):
    case = open_case(agent)
    case.policy_snapshot = {}
    case.save()
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.policy_id is None and fresh.policy_snapshot == {}


def test_terms_in_use_cannot_be_deleted(agent):
    case = open_case(agent)
    with pytest.raises(ProtectedError):
        PolicySnapshot.objects.filter(pk=case.policy_id).delete()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        else:
            cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("DELETE FROM escalations_policysnapshot WHERE digest = %s", [case.policy_id])
        if connection.vendor != "postgresql":
            cur.execute("PRAGMA foreign_key_check")
            if cur.fetchall():
                raise IntegrityError("dangling")
    assert Case.objects.get(pk=case.pk).policy_snapshot["policy"] == "Standard 24x7"


def test_imported_cases_store_their_terms_with_them(db):
    run_import(FORMATS["bpic2013"], str(FIXTURES / "bpic2013_small.csv.gz"), skip_bad_rows=True)
    cases = list(Case.objects.filter(source="bpic2013"))
    assert cases and all(c.policy_snapshot["policy"] == "Standard 24x7" for c in cases)
    assert len({c.policy_id for c in cases}) == PolicySnapshot.objects.count()
    _all_keys_stored()


def test_the_sweep_reads_each_distinct_set_of_terms_once_per_batch(clock, agent):
    TriggerRule.objects.update(is_active=False)
    TriggerRule.objects.create(
        name="escalate at 100",
        condition=R.Condition.SLA_PERCENT,
        params={"target": "response", "percent": 100},
        action=R.Action.ESCALATE_NEXT,
        order=1,
    )
    cases = [open_case(agent, title=f"Case {n}") for n in range(4)]
    clock.advance(days=3)
    snapshots._BODIES.clear()
    with CaptureQueriesContext(connection) as queries:
        assert run_sweep().escalations == 4
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "escalations_policysnapshot"' in q["sql"]]
    assert len(reads) == 1
    moved = Case.objects.filter(pk__in=[c.pk for c in cases])
    assert {c.level.code for c in moved} == {"L2"}
    assert {c.policy_id for c in moved} == {cases[0].policy_id}  # escalation never moves the terms
    assert all(c.policy_snapshot["sla_level"] == "L1" for c in moved)


@pytest.mark.postgres
def test_the_plain_rows_carry_the_terms(agent):
    case = open_case(agent)
    rows = sweep_fast.claim(case.next_check_at, 10)
    (row,) = [r for r in sweep_fast.rows_as_cases(rows) if r.id == case.pk]
    assert row.policy_snapshot == Case.objects.get(pk=case.pk).policy_snapshot
    assert clocks.sla_targets(row) == clocks.sla_targets(Case.objects.get(pk=case.pk))


@pytest.mark.postgres
def test_the_case_row_is_narrow_and_holds_no_terms():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'escalations_case' "
            "AND data_type IN ('json', 'jsonb')"
        )
        assert sorted(r[0] for r in cur.fetchall()) == ["pauses", "risk_reasons", "sla_changes"]


@pytest.mark.postgres
@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_migration_0072_moves_the_terms_of_existing_cases(agent, vendor):
    """Both of the migration's paths on cases as a database at 0071 holds them: the terms
    on the row, no snapshot table rows."""
    migration = importlib.import_module("escalations.migrations.0072_policy_snapshot_table")
    one, two = open_case(agent, title="One"), open_case(agent, title="Two")
    bare = open_case(agent, title="Bare")
    other = dict(one.policy_snapshot, sla_level="L2")
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending checks under the ALTER TABLE
        cur.execute("ALTER TABLE escalations_case ADD COLUMN policy_snapshot jsonb NOT NULL DEFAULT '{}'")
        cur.execute(
            "UPDATE escalations_case c SET policy_snapshot = s.body FROM escalations_policysnapshot s "
            "WHERE s.digest = c.policy_id"
        )
        cur.execute(
            "UPDATE escalations_case SET policy_snapshot = %s::jsonb WHERE id = %s", [json.dumps(other), two.pk]
        )
        cur.execute("UPDATE escalations_case SET policy_snapshot = '{}'::jsonb WHERE id = %s", [bare.pk])
        cur.execute("UPDATE escalations_case SET policy_id = NULL")
        cur.execute("DELETE FROM escalations_policysnapshot")

    class Editor:
        pass

    class AsVendor:
        """PostgreSQL's connection under the vendor name of the path being tested."""

        def __init__(self, name):
            self.vendor = name

        def cursor(self):
            return connection.cursor()

    editor = Editor()
    editor.connection = AsVendor(vendor)
    migration.forwards(None, editor)
    if vendor != "postgresql":
        with connection.cursor() as cur:
            cur.execute("ALTER TABLE escalations_case DROP COLUMN policy_snapshot")
    snapshots._BODIES.clear()
    got = {c.pk: c for c in Case.objects.filter(pk__in=[one.pk, two.pk, bare.pk])}
    assert got[one.pk].policy_snapshot == one.policy_snapshot
    assert got[two.pk].policy_snapshot == other and got[two.pk].policy_id == snapshots.digest_of(other)
    assert got[one.pk].policy_id == snapshots.digest_of(one.policy_snapshot)
    assert got[bare.pk].policy_id is None
    assert PolicySnapshot.objects.count() == 2
    _all_keys_stored()
    test_the_case_row_is_narrow_and_holds_no_terms()
    workflow.case_take(case_id=one.pk, actor=agent)  # the cases work on


def test_the_admin_case_page_shows_the_frozen_terms(client, manager, agent):
    case = open_case(agent)
    client.force_login(manager)
    page = client.get(reverse("admin:escalations_case_change", args=[case.pk])).content.decode()
    assert "frozen SLA policy" in page.lower() or "Frozen policy" in page
    assert "&quot;policy&quot;: &quot;Standard 24x7&quot;" in page and "&quot;sla_level&quot;: &quot;L1&quot;" in page
