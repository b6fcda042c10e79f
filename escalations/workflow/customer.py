"""What the requester does from outside the staff pages (e-mail today, the portal later):
open a case, write to one, send files. The channel acts for them: it passes
``workflow.system_actor()`` (or, later, whoever its own authentication says).

A message to a case that is finished follows what Zammad and OTRS/Znuny do by default:
a case resolved less than ``MAIL_REOPEN_DAYS`` ago is reopened (the requester is still
talking about it); a closed case (the requester confirmed the resolution) or one resolved
longer ago stays as it is, and the message opens a follow-up case that names it
(``Case.follow_up_of``), so the history and the reports of the old case do not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from escalations.models import Case, CaseStatus, Category, Note, NoteKind, Team
from escalations.workflow import notices
from escalations.workflow.actors import Actor, require_actor
from escalations.workflow.attachments import attach_files, check_files
from escalations.workflow.base import action, lock_case, run, save, save_case
from escalations.workflow.cases import case_open


@dataclass(frozen=True)
class CustomerMessage:
    """Where a requester's message went: its note, and what happened to the case
    (``opened``, ``replied``, ``reopened`` or ``follow_up``)."""

    note: Note
    outcome: str

    @property
    def case(self) -> Case:
        return self.note.case


def _customer_note(case: Case, actor: Actor, sender: str, body: str, files, now) -> Note:
    note = Note(
        case=case,
        kind=NoteKind.CUSTOMER,
        author=None,
        sender=sender[:254],
        body=body.strip() or "(The message has no text.)",
        created_at=now,
    )
    save(note, actor, f"Message from the requester ({sender[:200]})")
    attach_files(case, note, files, actor, now)
    return note


@action("requester-open")
def case_open_from_requester(
    *,
    actor: Actor,
    title: str,
    requester_name: str,
    requester_email: str,
    category: Category,
    body: str,
    files=(),
    team: Team | None = None,
    follow_up_of: Case | None = None,
) -> CustomerMessage:
    """A new request: the case (through ``case_open``), the message as its first note,
    and the files, in one transaction."""
    require_actor(actor)
    check_files(files)
    with transaction.atomic(savepoint=False):  # inside a caller's transaction: no savepoint round trips
        case = case_open(
            actor=actor,
            title=title or "(no subject)",
            requester_name=requester_name,
            requester_email=requester_email,
            category=category,
            impact=2,
            urgency=2,
            description=body[:10_000],
            team=team,
            follow_up_of=follow_up_of,
        )
        note = _customer_note(case, actor, requester_email, body, files, case.opened_at)
    return CustomerMessage(note, "follow_up" if follow_up_of is not None else "opened")


def _finished(case: Case, now) -> bool:
    if case.status == CaseStatus.CLOSED:
        return True
    window = timedelta(days=settings.MAIL_REOPEN_DAYS)
    return case.status == CaseStatus.RESOLVED and (case.resolved_at is None or case.resolved_at < now - window)


def _reopen(case: Case, actor: Actor, sender: str, now) -> None:
    run(case, "reopen", actor, now)
    save_case(case, actor, f"Reopened: the requester wrote again ({sender})", now)


def _resume(case: Case, actor: Actor, sender: str, now) -> None:
    run(case, "resume", actor, now)
    save_case(case, actor, f"Resumed: the requester answered ({sender})", now)


# What a message from the requester does to the case's status first (then the note follows).
ON_MESSAGE = {
    CaseStatus.RESOLVED: ("reopened", _reopen),
    CaseStatus.AWAITING_CUSTOMER: ("replied", _resume),
}


@action("requester-message")
def case_customer_message(
    *, actor: Actor, case_id: int, sender: str, sender_name: str = "", body: str, files=(), title: str = ""
) -> CustomerMessage:
    """The requester wrote to an existing case: a customer note with the files; a clock
    paused for them resumes; a recently resolved case reopens; the assignee (or the team)
    is told. A finished case gets a follow-up case instead (see the module docstring)."""
    require_actor(actor)
    check_files(files)
    with transaction.atomic(savepoint=False):
        case = lock_case(case_id, None)
        now = timezone.now()
        if _finished(case, now):
            return case_open_from_requester(
                actor=actor,
                title=title or f"Follow-up: {case.title}",
                requester_name=sender_name or case.requester_name,
                requester_email=sender,
                category=case.category,
                body=body,
                files=files,
                follow_up_of=case,
            )
        outcome, change = ON_MESSAGE.get(case.status, ("replied", None))
        if change is not None:
            change(case, actor, sender, now)
        note = _customer_note(case, actor, sender, body, files, now)
        recipients = notices.recipients_for(case, ["assignee"]) or notices.recipients_for(case, ["team"])
        excerpt = note.body if len(note.body) <= 2000 else note.body[:2000] + " …"
        notices.queue(
            case,
            notices.Message(
                "customer_reply",
                f"The requester wrote on case #{case.pk}: {case.title}",
                f"{sender} wrote:\n\n{excerpt}",
            ),
            recipients,
            key=f"customer_reply:{note.pk}",
        )
    return CustomerMessage(note, outcome)
