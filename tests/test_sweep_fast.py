"""The sweep's fast path (``workflow.sweep_fast``) against the general path, concurrent
sweepers, failed batches, and the chain hashed before its head is locked (PostgreSQL)."""

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from escalations.audit import verify
from escalations.audit.chain import content, contents, hashed_fields
from escalations.audit.records import AuditHead
from escalations.automation.sweep import run_sweep, run_sweepers
from escalations.models import (
    Case,
    Escalation,
    EscalationKind,
    KnowledgeArticle,
    Level,
    Notification,
    RuleFiring,
    TriggerRule,
)

from .factories import TeamFactory, open_case, staff

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
R = TriggerRule


def rule(name, condition, params, action, **kw):
    return TriggerRule.objects.create(name=name, condition=condition, params=params, action=action, **kw)


def every_kind_of_rule():
    """One rule per action kind (and a repeat), each on cases of its own kind."""
    TriggerRule.objects.update(is_active=False)
    rule(  # notify, repeating every 5 minutes while it holds
        "warn half",
        R.Condition.SLA_PERCENT,
        {"target": "response", "percent": 50, "and": [{"condition": "customer_tier", "in": ["standard"]}]},
        R.Action.NOTIFY,
        recipients=["assignee", "team"],
        repeat_every=timedelta(minutes=5),
        order=1,
    )
    rule(  # raise priority, telling the team
        "vip goes up",
        R.Condition.CUSTOMER_TIER,
        {"in": ["vip"]},
        R.Action.RAISE_PRIORITY,
        recipients=["team"],
        order=2,
        stop_processing=True,
    )
    rule(  # jump a level, skipping L2
        "complex jumps",
        R.Condition.COMPLEXITY,
        {"in": ["high"]},
        R.Action.JUMP_LEVEL,
        target_level=Level.objects.get(code="L3"),
        order=3,
        stop_processing=True,
    )
    rule(  # escalate to the next step
        "escalate at 100",
        R.Condition.SLA_PERCENT,
        {"target": "response", "percent": 100},
        R.Action.ESCALATE_NEXT,
        recipients=["next_level"],
        order=4,
    )
    rule(  # follow-up: an answer condition, never holds for the sweep
        "low satisfaction",
        R.Condition.LOW_SATISFACTION,
        {"at_most": 2},
        R.Action.FOLLOW_UP,
        order=5,
    )


def case_mix(agent):
    team = TeamFactory(name="Desk")
    team.members.add(agent)
    for code in ("L2", "L3"):  # who escalation notices go to
        TeamFactory(name=f"Desk {code}", level=Level.objects.get(code=code), email=f"{code.lower()}@example.com")
    cases = []
    for i in range(4):
        cases.append(open_case(agent, impact=1, urgency=1, team=team, title=f"standard {i}"))
        cases.append(open_case(agent, impact=2, urgency=2, team=team, title=f"vip {i}", customer_tier="vip"))
        cases.append(open_case(agent, impact=1, urgency=1, team=team, title=f"complex {i}", complexity="high"))
    article = KnowledgeArticle.objects.create(title="KB-1 printer fires", body="Unplug it.")
    article.cases.add(cases[0], cases[2])
    KnowledgeArticle.objects.create(title="KB-0 smoke", body="Open a window.").cases.add(cases[0])
    return cases


def written(ids):
    """Every row the sweep writes for ``ids``, without what must differ between two runs
    (sequence ids, and hashes that cover them or depend on the order of the batch)."""
    drop = {"id", "history_id", "prev_hash", "row_hash"}

    def rows(qs, order):
        return [{k: v for k, v in r.items() if k not in drop} for r in qs.order_by(*order).values()]

    return {
        "cases": [r for r in Case.objects.filter(pk__in=ids).order_by("pk").values()],
        "case history": rows(Case.history.filter(id__in=ids), ["id", "history_date", "history_change_reason"]),
        "handoffs": rows(Escalation.objects.filter(case_id__in=ids), ["case_id", "created_at"]),
        "handoff history": rows(Escalation.history.filter(case_id__in=ids), ["case_id", "history_date"]),
        "firings": rows(RuleFiring.objects.filter(case_id__in=ids), ["case_id", "rule_id", "level_id"]),
        "outbox": rows(Notification.objects.filter(case_id__in=ids), ["dedupe_key"]),
    }


def sweep_with(settings, fast: bool, now):
    settings.ESCALATIONS = {**settings.ESCALATIONS, "SWEEP_FAST": fast}
    return run_sweep(now=now, batch_size=5, heartbeat="")


def test_fast_and_general_paths_write_the_same_rows(agent, settings):
    every_kind_of_rule()
    cases = case_mix(agent)
    ids = [c.pk for c in cases]
    start = min(c.opened_at for c in cases)
    sweep_with(settings, False, start + timedelta(minutes=8))  # the 50 % warnings, the vip and complex ones
    later = start + timedelta(minutes=20)  # warnings repeat, the standard cases reach 100 %
    out = {}
    for fast in (False, True):
        sid = transaction.savepoint()
        result = sweep_with(settings, fast, later)
        out[fast] = (result, written(ids))
        transaction.savepoint_rollback(sid)
    (general, general_rows), (fast, fast_rows) = out[False], out[True]
    assert (fast.examined, fast.changed, fast.actions, fast.escalations, fast.notifications) == (
        general.examined,
        general.changed,
        general.actions,
        general.escalations,
        general.notifications,
    )
    for table in general_rows:
        assert fast_rows[table] == general_rows[table], table
    rows = fast_rows
    # Every kind really happened: escalations and jumps with their handoffs, repeats, raises.
    kinds = {(r["kind"], r["to_level_id"]) for r in rows["handoffs"]}
    l2, l3 = Level.objects.get(code="L2").pk, Level.objects.get(code="L3").pk
    assert (EscalationKind.ESCALATE, l2) in kinds and (EscalationKind.JUMP, l3) in kinds
    assert any(r["times"] >= 2 for r in rows["firings"])  # the repeating warning
    per_case = Counter(r["case_id"] for r in rows["handoffs"])  # each case counts its handoffs (flow report)
    assert [r["handoff_count"] for r in rows["cases"]] == [per_case[r["id"]] for r in rows["cases"]]
    assert {r["priority"] for r in rows["cases"] if r["customer_tier"] == "vip"} == {2}
    assert any("KB-0 smoke, KB-1 printer fires" == r["knowledge_consulted"] for r in rows["handoffs"])
    assert all(r["history_user_id"] and r["history_change_reason"] for r in rows["case history"])
    assert {r["event"] for r in rows["outbox"]} >= {"rule_notice", "escalated"}
    assert all(s.broken is None for s in verify.verify()), [str(s.broken) for s in verify.verify() if s.broken]


def test_column_wise_contents_match_row_wise(agent, settings):
    every_kind_of_rule()
    cases = case_mix(agent)
    run_sweep(now=min(c.opened_at for c in cases) + timedelta(minutes=20), heartbeat="")
    model = Case.history.model
    fields = hashed_fields(model)
    table = model._meta.db_table
    rows = [list(r) for r in model.objects.values_list(*[f.attname for f in fields])]
    # Values as a writer may hold them before saving: another time zone, a string key,
    # floats given as ints, an empty later column, JSON with large and float numbers.
    names = [f.attname for f in fields]
    odd = list(rows[0])
    odd[names.index("history_date")] = datetime(2026, 3, 29, 3, 30, 0, 123, tzinfo=ZoneInfo("Europe/Berlin"))
    odd[names.index("level_id")] = str(odd[names.index("level_id")])
    floats = [i for i, f in enumerate(fields) if f.get_internal_type() == "FloatField"]
    for i in floats:
        odd[i] = 0
    odd[names.index("history_action")] = ""
    odd[names.index("sla_changes")] = [{"n": 1e16, "f": 0.5, "t": "ü"}]
    rows.append(odd)
    key_id = rows[0][names.index("audit_key")]
    for r in rows:
        r[names.index("audit_key")] = key_id
    columns = [list(c) for c in zip(*rows)]
    assert contents(table, columns, fields, key_id) == [content(table, r, fields)[1] for r in rows]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweepers_split_the_work_once_each_and_the_chains_verify():
    agent = staff("Agent", "two-sweepers")
    team = TeamFactory(name="Pair")
    team.members.add(agent)
    cases = [open_case(agent, impact=1, urgency=1, team=team) for _ in range(40)]
    ids = [c.pk for c in cases]
    later = timezone.now() + timedelta(hours=1)
    outbox_before = Notification.objects.filter(case_id__in=ids).count()
    seen, lock = set(), threading.Lock()
    import escalations.workflow.sweep_fast as fast

    claim = fast.claim

    def recording_claim(now, n):  # which thread claimed what (the real claim, observed)
        rows = claim(now, n)
        with lock:
            seen.add((threading.current_thread().name, bool(rows)))
        return rows

    fast.claim = recording_claim
    try:
        result = run_sweepers(2, now=later, batch_size=4, heartbeat="")
    finally:
        fast.claim = claim
    assert result.escalations == 40
    assert {name for name, claimed in seen if claimed} == {"sweeper-0", "sweeper-1"}  # both took batches
    assert Escalation.objects.filter(case_id__in=ids).count() == 40
    keys = list(Notification.objects.filter(case_id__in=ids).values_list("dedupe_key", flat=True))
    assert len(keys) == len(set(keys)) == outbox_before + result.notifications
    firings = RuleFiring.objects.filter(case_id__in=ids)
    assert firings.count() == len({(f.case_id, f.rule_id, f.level_id) for f in firings})
    assert all(f.times == 1 for f in firings)
    assert all(s.broken is None for s in verify.verify()), [str(s.broken) for s in verify.verify() if s.broken]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_that_fails_midway_writes_nothing():
    agent = staff("Agent", "failing-batch")
    team = TeamFactory(name="Fails")
    team.members.add(agent)
    cases = [open_case(agent, impact=1, urgency=1, team=team) for _ in range(6)]
    ids = [c.pk for c in cases]
    before = written(ids)
    heads = list(AuditHead.objects.order_by("table").values_list("table", "rows", "last_hash"))
    with connection.cursor() as cur:  # the outbox insert fails after the cases and handoffs are written
        cur.execute("""
            CREATE OR REPLACE FUNCTION test_fail() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'disk full (test)'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail AFTER INSERT ON escalations_notification
            FOR EACH STATEMENT EXECUTE FUNCTION test_fail();""")
    try:
        with pytest.raises(Exception, match="disk full"):
            run_sweep(now=timezone.now() + timedelta(hours=1), heartbeat="")
    finally:
        with connection.cursor() as cur:
            cur.execute("DROP TRIGGER test_fail ON escalations_notification; DROP FUNCTION test_fail();")
    assert written(ids) == before
    assert list(AuditHead.objects.order_by("table").values_list("table", "rows", "last_hash")) == heads
    result = run_sweep(now=timezone.now() + timedelta(hours=1), heartbeat="")
    assert result.escalations == 6
    assert all(s.broken is None for s in verify.verify())


def test_claimed_rows_load_like_the_orm(agent):
    from escalations.workflow import sweep_fast

    case = open_case(agent, impact=1, urgency=1, team=TeamFactory(name="Load"))
    Case.objects.filter(pk=case.pk).update(
        pauses=[["2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"]], risk_reasons=["a", 1.5]
    )
    rows = sweep_fast.claim(datetime(2100, 1, 1, tzinfo=UTC), 10)
    (loaded,) = [c for c in sweep_fast.cases_from_rows(rows) if c.pk == case.pk]
    orm = Case.objects.get(pk=case.pk)
    for f in Case._meta.concrete_fields:
        assert getattr(loaded, f.attname) == getattr(orm, f.attname), f.attname
    assert loaded.level.code == orm.level.code and loaded.team.name == "Load"


def test_the_scheduled_sweep_starts_the_configured_sweepers(agent, settings):
    from django_q.models import Task

    from escalations.automation import tasks

    settings.ESCALATIONS = {**settings.ESCALATIONS, "SWEEPERS": 3}
    done = tasks.sweep()  # the test settings run queued tasks at once (Q_CLUSTER sync)
    assert done["examined"] == 0
    assert Task.objects.filter(func="escalations.automation.tasks.sweep_more", success=True).count() == 2


def test_claimed_rows_load_as_plain_rows_like_the_orm(agent):
    from escalations.workflow import sweep_fast

    case = open_case(agent, impact=1, urgency=1, team=TeamFactory(name="Plain"))
    Case.objects.filter(pk=case.pk).update(
        pauses=[["2026-01-01T00:00:00+00:00", "2026-01-01T01:00:00+00:00"]], risk_reasons=["a", 1.5]
    )
    rows = sweep_fast.claim(datetime(2100, 1, 1, tzinfo=UTC), 10)
    (loaded,) = [c for c in sweep_fast.rows_as_cases(rows) if c.pk == case.pk]
    orm = Case.objects.select_related("level", "team", "category", "assignee", "highest_level").get(pk=case.pk)
    assert not isinstance(loaded, Case)
    for f in Case._meta.concrete_fields:
        assert getattr(loaded, f.attname) == getattr(orm, f.attname), f.attname
    for name in ("level", "highest_level", "team", "category", "assignee"):
        assert getattr(loaded, name) == getattr(orm, name), name
    for name in ("status", "impact", "customer_tier"):
        display = f"get_{name}_display"
        assert getattr(loaded, display)() == getattr(orm, display)(), name


def test_the_plain_transition_checks_and_moves_like_the_models(agent):
    """``sweep_fast.plain_transition`` against ``workflow.base.run``: the same refusal in
    the same words, and the same case after the move."""
    from escalations.workflow import sweep_fast
    from escalations.workflow.actors import system_actor
    from escalations.workflow.base import InvalidAction, run

    case = open_case(agent, impact=1, urgency=1, team=TeamFactory(name="Moves"))
    l2 = Level.objects.get(code="L2")
    at = timezone.now()

    def both():
        rows = sweep_fast.claim(datetime(2100, 1, 1, tzinfo=UTC), 10)
        (row,) = [c for c in sweep_fast.rows_as_cases(rows) if c.pk == case.pk]
        return Case.objects.get(pk=case.pk), row

    Case.objects.filter(pk=case.pk).update(status="resolved")
    messages = []
    for obj, move in zip(both(), (run, sweep_fast.plain_transition)):
        with pytest.raises(InvalidAction) as refused:
            move(obj, "escalate", system_actor(), l2, None, at)
        messages.append(refused.value.message)
    Case.objects.filter(pk=case.pk).update(status="in_progress")
    orm, row = both()
    run(orm, "escalate", system_actor(), l2, None, at)
    sweep_fast.plain_transition(row, "escalate", system_actor(), l2, None, at)
    assert messages[0] == messages[1] and "resolved" in messages[0]
    for f in Case._meta.concrete_fields:
        if f.attname != "updated_at":
            assert getattr(row, f.attname) == getattr(orm, f.attname), f.attname
    assert row.status == "escalated" and row.level == l2 and row.escalation_count == 1


def test_the_fast_path_builds_no_model_instance_per_case(agent, settings):
    """Cases, handoffs and notices are plain rows on the fast path (Django's ``pre_init``
    signal counts the model instances built while it sweeps)."""
    from django.db.models.signals import pre_init

    every_kind_of_rule()
    cases = case_mix(agent)
    built = []

    def count(sender, **kwargs):
        if sender in (Case, Escalation, Notification, RuleFiring):
            built.append(sender.__name__)

    pre_init.connect(count)
    try:
        result = sweep_with(settings, True, min(c.opened_at for c in cases) + timedelta(minutes=20))
    finally:
        pre_init.disconnect(count)
    assert result.escalations and result.notifications
    assert built == []


def test_both_paths_tell_watchers_managers_and_requesters_alike(agent, settings):
    """The recipient kinds the rule-kind test leaves out (watchers, team manager, requester,
    and the fallback when a kind finds nobody) write the same outbox rows on both paths."""
    TriggerRule.objects.update(is_active=False)
    rule(
        "tell everyone",
        R.Condition.SLA_PERCENT,
        {"target": "response", "percent": 50},
        R.Action.NOTIFY,
        recipients=["watchers", "team_manager", "requester"],
        order=1,
    )
    rule("nobody to tell", R.Condition.PRIORITY, {"at_most": 4}, R.Action.NOTIFY, recipients=["assignee"], order=2)
    manager = staff("Manager", "sweep-manager", email="boss@example.com")
    team = TeamFactory(name="Watched", manager=manager)
    team.members.add(agent)
    cases = [open_case(agent, impact=1, urgency=1, team=team, title=f"watched {i}") for i in range(3)]
    watcher = staff("Agent", "sweep-watcher", email="watcher@example.com")
    cases[0].watchers.add(watcher, agent)
    ids = [c.pk for c in cases]
    later = min(c.opened_at for c in cases) + timedelta(minutes=20)
    out = {}
    for fast in (False, True):
        sid = transaction.savepoint()
        result = sweep_with(settings, fast, later)
        out[fast] = (result.actions, result.notifications, written(ids))
        transaction.savepoint_rollback(sid)
    assert out[True] == out[False]
    recipients = {r["recipient"] for r in out[True][2]["outbox"]}
    assert {"watcher@example.com", "boss@example.com", "rita@example.com"} <= recipients
