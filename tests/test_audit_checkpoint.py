"""A trail that cannot be shortened (issue 14, finding 4): signed checkpoints outside the
database catch tail truncation, a table wipe and a head rewind; the append-only guard
ignores the old session variable; keys rotate by id; jsonb's number normalisation cannot
break a chain."""

import json

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from escalations import workflow
from escalations.audit import checkpoint, verify
from escalations.automation import tasks
from escalations.models import AuditHead, Case, Note

from .factories import open_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
NOTE_HISTORY = Note.history.model._meta.db_table


def intrude(*statements):
    """What someone with the maintainer role (or a superuser) would run by hand."""
    with connection.cursor() as cur:
        cur.execute("SELECT escalations_audit_unlock('intruder')")
        for sql, params in statements:
            cur.execute(sql, params)


def verify_audit(capsys):
    """(exit code, stderr) of ``verify_audit``."""
    try:
        call_command("verify_audit")
    except SystemExit as exit_:
        return exit_.code, capsys.readouterr().err
    return 0, capsys.readouterr().err


@pytest.fixture
def desk(settings, tmp_path, agent):
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    case = open_case(agent)
    for i in range(3):
        workflow.case_note(case_id=case.pk, actor=agent, body=f"note {i}")
    call_command("audit_checkpoint")
    return case


def test_checkpoint_is_signed_and_written_outside_the_database(desk, settings, capsys):
    path = checkpoint.latest()
    found, marks = checkpoint.load(path)
    head = AuditHead.objects.get(table=NOTE_HISTORY)
    assert marks[NOTE_HISTORY] == checkpoint.Mark(head.rows, head.last_history_id, head.last_hash)
    assert found["key_id"] == settings.AUDIT_KEY_ID
    assert verify_audit(capsys)[0] == 0
    edited = json.loads(path.read_text())
    edited["chains"][NOTE_HISTORY]["rows"] += 5
    path.write_text(json.dumps(edited))
    code, err = verify_audit(capsys)
    assert code == 1 and "bad signature" in err


def test_tail_truncation_with_head_rewind_is_detected(desk, capsys):
    rows = list(Note.history.order_by("history_id"))
    keep = rows[-3]
    intrude(
        (f"DELETE FROM {NOTE_HISTORY} WHERE history_id > %s", [keep.history_id]),
        (
            'UPDATE escalations_audithead SET rows = rows - 2, last_history_id = %s, last_hash = %s WHERE "table" = %s',
            [keep.history_id, keep.row_hash, NOTE_HISTORY],
        ),
    )
    assert not any(s.broken for s in verify.verify())  # the chain alone reads intact
    code, err = verify_audit(capsys)
    assert code == 1 and NOTE_HISTORY in err and "shorter than its signed checkpoint" in err


def test_table_wipe_with_its_head_is_detected(desk, capsys):
    intrude(
        (f"DELETE FROM {NOTE_HISTORY}", []),
        ('DELETE FROM escalations_audithead WHERE "table" = %s', [NOTE_HISTORY]),
    )
    assert not any(s.broken for s in verify.verify())
    code, err = verify_audit(capsys)
    assert code == 1 and "0 rows now" in err


def test_a_rewritten_chain_diverges_from_its_checkpoint(desk, capsys, settings, agent):
    """Resealed with the key itself (an insider with the secret): the walk passes, the checkpoint does not."""
    from escalations.audit.maintenance import reseal

    intrude((f"UPDATE {NOTE_HISTORY} SET body = 'nothing to see'", []))
    reseal(Note.history.model)
    assert not any(s.broken for s in verify.verify())
    code, err = verify_audit(capsys)
    assert code == 1 and "diverges from the signed checkpoint" in err


def test_session_variable_no_longer_lifts_the_guard(desk, capsys):
    for flag in ("SELECT set_config('escalations.audit_maintenance', 'on', false)",):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(flag)
                cur.execute(f"DELETE FROM {NOTE_HISTORY}")
    assert Note.history.count() and verify_audit(capsys)[0] == 0


def test_a_disabled_or_replaced_guard_is_reported(desk, capsys):
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks before ALTER
        cur.execute(f"ALTER TABLE {NOTE_HISTORY} DISABLE TRIGGER audit_append_only")
    code, err = verify_audit(capsys)
    assert code == 1 and "trigger is disabled" in err
    with connection.cursor() as cur:
        cur.execute(f"ALTER TABLE {NOTE_HISTORY} ENABLE TRIGGER audit_append_only")
        cur.execute(
            "CREATE OR REPLACE FUNCTION escalations_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RETURN COALESCE(NEW, OLD); END $$ LANGUAGE plpgsql"
        )
    code, err = verify_audit(capsys)
    assert code == 1 and "was replaced" in err


def test_maintenance_writes_a_new_checkpoint_so_verify_stays_clean(desk, capsys, django_capture_on_commit_callbacks):
    from escalations.audit.maintenance import maintenance

    before = checkpoint.latest()
    with django_capture_on_commit_callbacks(execute=True):
        with maintenance(actor="dba", reason="erasure #7", tables=[NOTE_HISTORY]), connection.cursor() as cur:
            cur.execute(f"UPDATE {NOTE_HISTORY} SET body = 'erased'")
    assert checkpoint.latest() != before
    assert verify_audit(capsys)[0] == 0


def test_keys_rotate_by_id(desk, settings, agent, capsys):
    settings.AUDIT_KEYS = {**settings.AUDIT_KEYS, "k2": "a-new-audit-key-" * 4}
    settings.AUDIT_KEY_ID = "k2"
    workflow.case_note(case_id=desk.pk, actor=agent, body="after rotation")
    keys = list(Note.history.order_by("history_id").values_list("audit_key", flat=True))
    assert keys[0] == "k1" and keys[-1] == "k2"
    assert not any(s.broken for s in verify.verify())
    call_command("audit_checkpoint")  # signed with k2
    assert verify_audit(capsys)[0] == 0
    settings.AUDIT_KEYS = {"k2": settings.AUDIT_KEYS["k2"]}  # the old key dropped: named, not "tampered"
    code, err = verify_audit(capsys)
    assert code == 1 and "'k1' is not in AUDIT_KEYS" in err


def test_large_floats_in_json_survive_jsonb(agent):
    """Hashed as Python has them, read back as jsonb spells them (1e16 -> 10000000000000000)."""
    case = open_case(agent)
    case.pauses = [[1e16, 1.0], [1e300, 0.1, 12345678901234567890, 2.5e-7]]
    case._change_reason = "numbers jsonb respells"
    case.save()
    stored = Case.history.order_by("-history_id").values_list("pauses", flat=True)[0]
    assert stored[0][0] == 10**16 and isinstance(stored[0][0], int)  # another spelling came back
    assert not any(s.broken for s in verify.verify())


def test_the_schedule_writes_and_mails_a_checkpoint(desk, settings):
    settings.AUDIT_CHECKPOINT_EMAILS = ["auditor@example.com"]
    path = tasks.audit_checkpoint()
    assert path.endswith(".json") and len(list(checkpoint._directory(None).glob("*.json"))) == 2
    assert mail.outbox[-1].to == ["auditor@example.com"] and mail.outbox[-1].attachments
    settings.AUDIT_CHECKPOINT_DIR = ""
    assert tasks.audit_checkpoint().startswith("skipped")
