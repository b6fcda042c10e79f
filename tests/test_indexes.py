"""The indexes dropped for the sweep's hot path (migration 0045, docs/indexes.md): each query
they served still finds its rows through an index that remains, and the dropped ones are gone.

Plans are asked for with sequential scans switched off, so the answer does not depend on
how few rows a test table holds: a query the remaining indexes could not serve would show
a ``Seq Scan``.
"""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from escalations.models import Case, Category, Escalation, Level, RuleFiring, Team
from escalations.models.choices import OPEN_STATUSES
from escalations.reports import REGISTRY, Filters
from escalations.reports.base import FilterError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DROPPED = {
    "escalations_case": [
        "escalations_case_level_id_ec51166b",
        "escalations_case_team_id_3d8123b1",
        "escalations_case_assignee_id_e238b464",
        "escalations_case_status_54279af1",
        "escalations_case_status_54279af1_like",
        "case_opened_at",
    ],
    "escalations_escalation": ["escalations_escalation_case_id_9800011b"],
    "escalations_historicalcase": [
        "escalations_historicalcase_category_id_153f4d1c",
        "escalations_historicalcase_created_by_id_53a3594a",
        "escalations_historicalcase_highest_level_id_56010e36",
        "escalations_historicalcase_level_id_b2f5c930",
        "escalations_historicalcase_path_id_1fb0c43e",
        "escalations_historicalcase_team_id_7d9a1b78",
        "escalations_historicalcase_status_0f002b9e",
        "escalations_historicalcase_status_0f002b9e_like",
    ],
    "escalations_historicalescalation": [
        "escalations_historicalescalation_decided_by_id_3db1bf7b",
        "escalations_historicalescalation_from_assignee_id_6ee361c1",
        "escalations_historicalescalation_from_level_id_1b53b225",
        "escalations_historicalescalation_from_team_id_e322d0f3",
        "escalations_historicalescalation_raised_by_id_aae2ac0b",
        "escalations_historicalescalation_rule_id_c166cde1",
        "escalations_historicalescalation_to_level_id_92ff362c",
        "escalations_historicalescalation_to_team_id_01221e11",
    ],
}


def _indexes(table: str) -> set[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", [table])
        return {name for (name,) in cur.fetchall()}


def test_the_repeated_and_unused_indexes_are_gone():
    for table, names in DROPPED.items():
        assert not _indexes(table) & set(names), table


def _plan(qs) -> str:
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
    try:
        return qs.explain()
    finally:
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = on")


# The indexes that read cases by opening time: the reports' covering ones and the lifetime one.
OPENED = "case_report_|case_lifetime"


def test_each_query_a_dropped_index_served_uses_a_remaining_one():
    level = Level.objects.get(code="L1")
    team = Team.objects.create(name="Index team", level=level)
    user = get_user_model().objects.create(username="index-user")
    category = Category.objects.create(code="idx", name="Index")
    now = timezone.now()
    # (the query, the index that now serves it): what each dropped index was for. The case
    # lookups leave the model's ordering out: on a near-empty table the planner may read an
    # index by ``opened_at`` for the order and filter the rest, which says nothing here.
    served = [
        # escalations_case_level_id: the level's queue, Level's PROTECT check on delete
        (Case.objects.filter(level=level).order_by(), "case_level_status"),
        (Case.objects.filter(level=level, status__in=OPEN_STATUSES).order_by(), "case_level_status"),
        # escalations_case_team_id: the team queue, Team's SET_NULL on delete
        (Case.objects.filter(team=team).order_by(), "case_team_status"),
        # escalations_case_assignee_id: "my cases", a user's SET_NULL on delete
        (Case.objects.filter(assignee=user).order_by(), "case_assignee_status"),
        # escalations_case_status(_like): the open cases, the resolved ones
        (Case.objects.filter(status__in=OPEN_STATUSES).values("id"), "case_open"),
        (Case.objects.filter(status__in=["resolved", "closed"], category=category), "case_resolved_by_category"),
        # case_opened_at: reports by opening date, the newest cases first (on a near-empty
        # table the planner may read 0067's lifetime index, which also carries opened_at)
        (Case.objects.filter(opened_at__gte=now - timedelta(days=30)).values("opened_at"), OPENED),
        (Case.objects.order_by("-opened_at").values("id")[:50], OPENED),
        # escalations_escalation_case_id: a case's handoffs, Case's CASCADE on delete
        (Escalation.objects.filter(case_id=1), "escalation_case_status"),
        # the history tables are read by record, by case, by date and user, by assignee
        (Case.history.filter(id=1), "escalations_historicalcase_id_"),
        (
            Case.history.filter(assignee_id__in=[user.pk]).values("assignee_id").annotate(last=Max("history_date")),
            "historicalcase_assignee",
        ),
        (Case.history.filter(history_user=user).order_by("-history_date"), "escalations_historicalcase_history_"),
        (Escalation.history.filter(case_id=1), "escalations_historicalescalation_case_id_"),
        (Escalation.history.filter(id=1), "escalations_historicalescalation_id_"),
    ]
    for qs, index in served:
        plan = _plan(qs)
        assert "Seq Scan" not in plan, plan
        assert any(name in plan for name in index.split("|")), f"{index} not in:\n{plan}"


def _index_columns(name: str) -> set[str]:
    """The columns an index holds, its INCLUDE columns with them."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE c.relname = %s",
            [name],
        )
        return {row[0] for row in cur.fetchall()}


def test_the_cases_a_team_holds_are_joined_to_their_handoffs_through_two_covering_indexes():
    """The speed report's time at each level under a team filter joins the cases the team
    holds that have a handoff to their handoffs (``Scope.handoffs_of_held_cases``, 0064 and
    0065). Every column that query reads of a case is in ``case_team_status`` and every one it
    reads of a handoff in ``escalation_case_status``, so the planner can read both sides
    index-only (at 1M and 10M cases a nested loop over the team's cases with a handoff). The
    columns are taken from the SQL the report sends, not from a plan: which plan a test
    table gets depends on its few rows and its visibility map."""
    level = Level.objects.get(code="L1")
    team = Team.objects.create(name="Held team", level=level)
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        REGISTRY["speed"].run(Filters(date_from=today - timedelta(days=30), date_to=today, team=team.name))
    held = [q["sql"] for q in queries if '"escalations_case"."handoff_count" > 0' in q["sql"]]
    assert len(held) == 1, [q["sql"] for q in queries]
    for table, index in (
        ("escalations_case", "case_team_status"),
        ("escalations_escalation", "escalation_case_status"),
    ):
        read = set(re.findall(rf'"{table}"\."(\w+)"', held[0]))
        assert read, held[0]
        assert read <= _index_columns(index), (index, read - _index_columns(index))


def _rollup_report_queries(extra: dict) -> list[dict]:
    """The SQL every report sends over the rollups (built now) for the last 400 days under
    the filters ``extra`` (a team "Idx team" exists)."""
    from escalations.rollups import build

    Team.objects.create(name="Idx team", level=Level.objects.get(code="L1"))
    build.install()
    build.rebuild()
    today = timezone.localdate()
    f = Filters(date_from=today - timedelta(days=400), date_to=today, **extra)
    with CaptureQueriesContext(connection) as queries:
        for report in REGISTRY.values():
            try:
                report.run(f)
            except FilterError:  # the forecast takes no team
                pass
    return queries.captured_queries


@pytest.mark.parametrize(
    "extra, lead",
    [
        ({"category": "idx-cat"}, "category"),
        ({"category": "idx-cat", "priority": 2}, "category"),
        ({"level": "L2", "category": "idx-cat"}, "category"),
        ({"priority": 2}, "priority"),
        ({"team": "Idx team", "priority": 2}, "priority"),
    ],
)
def test_the_handoff_rollups_under_a_case_filter_are_read_through_the_index_led_by_it(extra, lead):
    """Under a category or priority filter the reports read the handoff and raiser rollup
    rows kept under each case's filters (``whole`` false). Every column those queries read is
    in the index led by the filter (0066), so they are answered index-only from that filter's
    rows instead of reading every filter's rows of the range through the key (led by the day).
    As above, the columns come from the SQL the reports send."""
    Category.objects.create(code="idx-cat", name="Index category")
    queries = _rollup_report_queries(extra)
    read_by_filter = {"escalations_handoffrollup": 0, "escalations_raiserrollup": 0}
    for q in queries:
        for table in read_by_filter:
            if f'FROM "{table}"' not in q["sql"] or f'NOT "{table}"."whole"' not in q["sql"]:
                continue
            read_by_filter[table] += 1
            index = f"{table.removeprefix('escalations_')}_by_{lead}"
            assert f'"{table}"."{lead}' in q["sql"].split("WHERE", 1)[1], q["sql"]
            # ``whole`` (and for handoffs ``attr_key`` "") is the partial index's condition
            read = set(re.findall(rf'"{table}"\."(\w+)"', q["sql"])) - {"whole", "attr_key"}
            assert read <= _index_columns(index), (index, read - _index_columns(index))
    assert all(read_by_filter.values()), read_by_filter


def _index_condition(name: str) -> str:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s",
            [name],
        )
        return cur.fetchone()[0] or ""


@pytest.mark.parametrize("extra", [{}, {"team": "Idx team"}, {"level": "L2"}, {"source": "live"}])
def test_the_rollup_rows_for_all_cases_are_read_from_the_whole_index_alone(extra):
    """Without a case filter the reports read the handoff and raiser rollup rows counting all
    cases (``whole``, with ``attr_key`` ""). Every column those queries read is in the
    ``whole`` index or its condition (0077: with ``whole`` alone as the condition, PostgreSQL
    read each row to check ``attr_key``, twice the time of the quality report under a team)."""
    queries = _rollup_report_queries(extra)
    read_whole = {"escalations_handoffrollup": 0, "escalations_raiserrollup": 0}
    for q in queries:
        for table in read_whole:
            where = q["sql"].split("WHERE", 1)[-1]
            if f'FROM "{table}"' not in q["sql"] or f'"{table}"."whole"' not in where or "NOT" in where:
                continue
            read_whole[table] += 1
            index = f"{table.removeprefix('escalations_')}_whole"
            condition = _index_condition(index)
            assert "whole" in condition and "attr_key" in condition, condition
            read = set(re.findall(rf'"{table}"\."(\w+)"', q["sql"])) - {"whole", "attr_key"}
            assert read <= _index_columns(index), (index, read - _index_columns(index))
    assert all(read_whole.values()), read_whole


def test_a_range_with_day_and_week_edges_reads_each_rollup_through_its_grain_and_day():
    """A range whose ends are not month ends reads month, week and day rollup rows: an OR
    that no index bounds (PostgreSQL read every ``basis`` row of the handoff rollups and
    filtered them, 0.23 s of a range ended 60 days ago at 1M). Every rollup query of such a
    range also names the grains and the exact days it reads, which every rollup index has side
    by side after its lead, so the index probes each (grain, day) instead of reading all."""
    from escalations.rollups import build

    build.install()
    build.rebuild()
    today = timezone.localdate()
    f = Filters(date_from=today - timedelta(days=400), date_to=today - timedelta(days=60))
    with CaptureQueriesContext(connection) as queries:
        for report in REGISTRY.values():
            report.run(f)
    ranged = [q["sql"] for q in queries if re.search(r'rollup"\."grain" = \'[dwm]\'', q["sql"])]
    assert len(ranged) > 20
    for sql in ranged:
        table = re.search(r'FROM "(escalations_\w+rollup)"', sql).group(1)
        if sql.count(f'"{table}"."grain" = ') > 1:  # two or more pieces: the OR
            assert f'"{table}"."grain" IN (' in sql and f'"{table}"."day" IN (' in sql, sql


def test_a_case_s_firings_are_read_through_the_unique_constraint_since_its_own_index_went():
    """Migration 0075: the firing's index on its case repeated the unique constraint."""
    assert "escalations_rulefiring_case_id_6988aa71" not in _indexes("escalations_rulefiring")
    for qs in (RuleFiring.objects.filter(case_id=1), RuleFiring.objects.filter(case_id__in=[1, 2]).values("id")):
        plan = _plan(qs)
        assert "Seq Scan" not in plan and "one_firing_per_case_rule_level" in plan, plan


# Migration 0076: keys most rows leave unset, indexed only where set.
WHERE_SET = {
    "escalations_case": {"case_created_by": "created_by_id", "case_follow_up_of": "follow_up_of_id"},
    "escalations_escalation": {
        "escalation_decided_by": "decided_by_id",
        "escalation_from_assignee": "from_assignee_id",
    },
    "escalations_historicalcase": {"historicalcase_assignee": "assignee_id"},
    "escalations_notification": {"notification_webhook": "webhook_id", "notification_note": "note_id"},
}


def _index_defs(table: str) -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cur.fetchall())


def test_keys_most_rows_leave_unset_are_indexed_only_where_set():
    for table, indexes in WHERE_SET.items():
        defs = _index_defs(table)
        for name, column in indexes.items():
            assert defs[name].endswith(f"({column}) WHERE ({column} IS NOT NULL)"), defs[name]
            # no other index of the table leads with the key: a NULL row writes no entry for it
            others = [d for n, d in defs.items() if n != name and re.search(rf"\({column}[,)]", d)]
            assert not others, others
    history = _index_defs("escalations_historicalcase")
    assert not [d for d in history.values() if "follow_up_of_id" in d]  # nothing reads the history by it
    notices = _index_defs("escalations_notification")
    assert not [d for d in notices.values() if "varchar_pattern_ops" in d]
    unique = "UNIQUE INDEX notification_dedupe_key ON public.escalations_notification USING btree (dedupe_key)"
    assert unique in notices["notification_dedupe_key"]


def test_each_lookup_by_a_key_indexed_where_set_uses_its_index():
    """Equality and ``IN`` (what an ``on_delete``'s ``SET_NULL`` or ``CASCADE`` and the
    pages send) imply the key is set, so the partial index serves them (the models' own
    ordering left out, as in the test above)."""
    from escalations.models import Note, Notification

    served = [
        (Case.objects.filter(created_by_id=1).order_by(), "case_created_by"),
        (Case.objects.filter(created_by_id__in=[1, 2]).order_by().values("id"), "case_created_by"),
        (Case.objects.filter(follow_up_of_id=1).order_by(), "case_follow_up_of"),
        (Case.objects.filter(follow_up_of_id__in=[1, 2]).order_by().values("id"), "case_follow_up_of"),
        (Escalation.objects.filter(decided_by_id__in=[1, 2]).order_by().values("id"), "escalation_decided_by"),
        (Escalation.objects.filter(from_assignee_id=1).order_by(), "escalation_from_assignee"),
        (Case.history.filter(assignee_id=1).order_by("-history_date"), "historicalcase_assignee"),
        (Notification.objects.filter(webhook_id__in=[1, 2]).order_by().values("id"), "notification_webhook"),
        (Notification.objects.filter(note_id=1).order_by(), "notification_note"),
        (Notification.objects.filter(dedupe_key="x").order_by(), "notification_dedupe_key"),
    ]
    for qs, index in served:
        plan = _plan(qs)
        assert "Seq Scan" not in plan and index in plan, f"{index} not in:\n{plan}"
    # and what a delete sends: the collector's SET_NULL updates, planned as sent
    user = get_user_model().objects.create(username="index-deleted")
    with CaptureQueriesContext(connection) as sent:
        user.delete()
    updates = [q["sql"] for q in sent.captured_queries if q["sql"].startswith("UPDATE")]
    for table, column in (
        ("escalations_case", "created_by_id"),
        ("escalations_escalation", "decided_by_id"),
        ("escalations_escalation", "from_assignee_id"),
    ):
        sql = next(s for s in updates if f'"{table}"' in s and f'"{column}" = NULL' in s.split("WHERE")[0])
        with connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in cur.fetchall())
            cur.execute("SET LOCAL enable_seqscan = on")
        assert "Seq Scan" not in plan, plan
    assert Note  # the note's SET_NULL is the same shape (notification_note above)
