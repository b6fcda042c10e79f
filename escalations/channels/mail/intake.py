"""One message into the desk, exactly once.

The ``InboundMessage`` row (unique per mailbox and Message-ID) is inserted in the
transaction that opens the case or adds the note through the workflow, as its last
statement: a second reader of the same message (a poll after a crash, an overlapping
poll) fails on the unique index (after waiting for the first to commit) and its whole
transaction rolls back: nothing is doubled. Inserting it last costs the rare second
reader some wasted work and saves every message a round trip (no claim-then-update).
Refusals (bad MIME, limits) and skips (auto-replies, loops) are rows too, so they are
never retried.
"""

from __future__ import annotations

import logging
from email import message_from_bytes, policy

from django.db import IntegrityError, InterfaceError, OperationalError, transaction

from escalations import workflow
from escalations.automation import outbox
from escalations.channels.mail.parse import (
    MailRejected,
    Own,
    ParsedMail,
    message_id_of,
    normalise_subject,
    parse,
    skip_reason,
    synthetic_message_id,
)
from escalations.core.text import one_line
from escalations.models import Case, InboundMessage, InboundOutcome, Mailbox, Notification
from escalations.workflow.notices import case_token

log = logging.getLogger(__name__)
DUPLICATE = "duplicate"
CONFLICT_RETRIES = 3


def header_block(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in raw:
            return raw.split(sep, 1)[0] + sep
    return raw


def identity(raw: bytes) -> str:
    """The row's Message-ID: as sent, or a hash of the bytes when there is none."""
    return message_id_of(header_block(raw)) or synthetic_message_id(raw)


def _summary(raw_headers: bytes) -> tuple[str, str]:
    msg = message_from_bytes(raw_headers, policy=policy.compat32)
    return str(msg.get("From", "") or "")[:254], normalise_subject(str(msg.get("Subject", "") or ""))


def record(
    mailbox: Mailbox,
    message_id: str,
    outcome: str,
    reason: str,
    *,
    uid: int | None = None,
    raw_headers: bytes = b"",
    size: int = 0,
    mail: ParsedMail | None = None,
) -> str:
    """A message that produced no case or note: skipped or refused, kept so it is never read again."""
    sender, subject = (mail.from_address, mail.subject) if mail else _summary(raw_headers)
    try:
        with transaction.atomic():
            InboundMessage.objects.create(
                mailbox=mailbox,
                message_id=message_id,
                uid=uid,
                from_address=sender,
                subject=subject,
                size=size,
                outcome=outcome,
                reason=reason[:2000],
            )
    except IntegrityError:
        return DUPLICATE
    return outcome


def find_case(mail: ParsedMail) -> tuple[int | None, str]:
    """The case a reply belongs to: by our own Message-IDs or the requester's earlier ones
    in In-Reply-To/References, else by the subject token when the sender is the case's
    requester. Never by the subject text alone."""
    for ref in mail.references:
        notice = outbox.notice_of_message_id(ref)
        if notice is not None:
            case_id = Notification.objects.filter(pk=notice).values_list("case_id", flat=True).first()
            if case_id:
                return case_id, f"replies to our message {ref}"
    if mail.references:
        earlier = (
            InboundMessage.objects.filter(message_id__in=mail.references, case__isnull=False)
            .order_by("-received_at")
            .values_list("case_id", "message_id")
            .first()
        )
        if earlier:
            return earlier[0], f"refers to the requester's earlier message {earlier[1]}"
    token = mail.case_token
    if token is not None:
        requester = Case.objects.filter(pk=token).values_list("requester_email", flat=True).first()
        if requester and requester.lower() == mail.from_address.lower():
            return token, f"subject token {case_token(token)}"
        return None, (
            f"the subject names case #{token}, but the sender is not its requester and the message "
            "does not reply to ours: opened as a new case"
        )
    return None, ""


def _files(mail: ParsedMail) -> list[workflow.IncomingFile]:
    return [workflow.IncomingFile(f.filename, f.content_type, f.data) for f in mail.attachments]


def _open(mailbox: Mailbox, mail: ParsedMail) -> workflow.CustomerMessage:
    return workflow.case_open_from_requester(
        actor=workflow.system_actor(),
        title=one_line(mail.subject),
        requester_name=one_line(mail.from_name),
        requester_email=mail.from_address,
        category=mailbox.category,
        team=mailbox.team,
        body=mail.body,
        files=_files(mail),
    )


def _reply(case_id: int, mail: ParsedMail) -> workflow.CustomerMessage:
    return workflow.case_customer_message(
        actor=workflow.system_actor(),
        case_id=case_id,
        sender=mail.from_address,
        sender_name=mail.from_name,
        body=mail.body,
        files=_files(mail),
        title=mail.subject,
    )


def _act(row: InboundMessage, mailbox: Mailbox, mail: ParsedMail) -> None:
    case_id, why = find_case(mail)
    result = _reply(case_id, mail) if case_id is not None else _open(mailbox, mail)
    row.case, row.note, row.outcome, row.reason = result.case, result.note, result.outcome, why
    if result.outcome == InboundOutcome.FOLLOW_UP:
        row.reason = f"case #{case_id} is finished ({why}): follow-up case #{result.case.pk}"
    row.save()  # last: a second reader of the message waits here on the unique index, then fails


def _read_before(mailbox: Mailbox, message_id: str) -> bool:
    return InboundMessage.objects.filter(mailbox=mailbox, message_id=message_id).exists()


def take_in(mailbox: Mailbox, raw: bytes, own: Own, uid: int | None = None) -> str | None:
    """Read one message into the desk. Returns its outcome, ``duplicate`` when it was read
    before, or None when it must be read again later (the case kept changing under it)."""
    message_id = identity(raw)
    try:
        mail = parse(raw)
    except MailRejected as exc:
        return record(
            mailbox, message_id, InboundOutcome.ERROR, exc.reason, uid=uid, raw_headers=header_block(raw), size=len(raw)
        )
    reason = skip_reason(mail, own)
    if reason is not None:
        return record(mailbox, message_id, InboundOutcome.SKIPPED, reason, uid=uid, size=len(raw), mail=mail)
    for _ in range(CONFLICT_RETRIES):
        try:
            with transaction.atomic():
                row = InboundMessage(
                    mailbox=mailbox,
                    message_id=message_id,
                    uid=uid,
                    from_address=mail.from_address,
                    subject=mail.subject,
                    size=len(raw),
                    outcome=InboundOutcome.OPENED,
                )
                _act(row, mailbox, mail)
            return row.outcome
        except IntegrityError:
            if _read_before(mailbox, message_id):
                return DUPLICATE  # read before (a crash before flagging, or another poll at the same time)
            raise
        except workflow.Conflict:
            continue  # someone changed the case at the same moment: read it again
        except workflow.WorkflowError as exc:
            return record(mailbox, message_id, InboundOutcome.ERROR, exc.message, uid=uid, size=len(raw), mail=mail)
        except (OperationalError, InterfaceError):
            raise  # the database is away: nothing was written, the next poll reads it again
        except Exception as exc:  # a bug must not make the message come back every minute
            log.exception("Message %s in %s could not be taken in", message_id, mailbox)
            return record(
                mailbox,
                message_id,
                InboundOutcome.ERROR,
                f"{type(exc).__name__}: {exc}",
                uid=uid,
                size=len(raw),
                mail=mail,
            )
    return None
