"""Reading one e-mail: pure functions, no database, no network.

``parse`` turns raw bytes into a ``ParsedMail`` (sender, normalised subject, text body,
attachments, the ids it refers to) or raises ``MailRejected`` with a reason a person can
read. ``skip_reason`` says why a message must never open a case (auto-replies, bounces,
our own mail coming back). The standard library's parser with ``policy.default`` does
the MIME work; it is lenient, so what it records as defects is checked here.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.errors import (
    CloseBoundaryNotFoundDefect,
    InvalidBase64CharactersDefect,
    InvalidBase64LengthDefect,
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from escalations.channels.mail.html_text import html_to_text

TITLE_LENGTH = 200  # Case.title
BODY_LIMIT = 100_000  # characters of a note; the rest is cut with a marker
CASE_TOKEN = re.compile(r"\[case #(\d{1,18})\]", re.IGNORECASE)  # notifications.case_token
MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

# Defects that mean the structure or an encoded part cannot be trusted.
FATAL_DEFECTS = {
    NoBoundaryInMultipartDefect: "a multipart message without a boundary",
    StartBoundaryNotFoundDefect: "the multipart boundary never appears",
    CloseBoundaryNotFoundDefect: "the multipart message is cut off (no closing boundary)",
    MultipartInvariantViolationDefect: "a multipart message without parts",
    InvalidBase64CharactersDefect: "an attachment with invalid base64 characters",
    InvalidBase64LengthDefect: "an attachment whose base64 is cut off",
}


class MailRejected(Exception):
    """The message cannot be taken in; ``reason`` is recorded and shown in the admin."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MailFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    from_name: str
    from_address: str
    subject: str
    body: str
    attachments: tuple[MailFile, ...] = ()
    references: tuple[str, ...] = ()  # In-Reply-To first, then References, newest first
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased, the ones skip_reason reads
    content_type: str = "text/plain"

    @property
    def case_token(self) -> int | None:
        match = CASE_TOKEN.search(self.subject)
        return int(match.group(1)) if match else None


def synthetic_message_id(raw: bytes) -> str:
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@no-message-id>"


def message_id_of(raw_headers: bytes) -> str | None:
    """The Message-ID from a message's header block, or None (then the whole message's hash is used)."""
    msg = message_from_bytes(raw_headers, policy=policy.compat32)
    found = MESSAGE_ID.search(str(msg.get("Message-ID", "") or ""))
    return found.group(0) if found else None


def normalise_subject(subject: str) -> str:
    """One line, no control characters, trimmed to the title's length."""
    text = " ".join(CONTROL.sub(" ", subject or "").split())
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1].rstrip() + "…"
    return text


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header policy.default cannot parse is read as raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name.lower()), "")
    return str(value or "")


def _ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value or "")


def _sender(msg: EmailMessage) -> tuple[str, str]:
    raw = _header(msg, "From")
    pairs = [(n, a) for n, a in getaddresses([raw]) if "@" in a]
    if not pairs:
        name, address = parseaddr(raw)
        if "@" not in address:
            raise MailRejected(f"The sender address cannot be read (From: {CONTROL.sub(' ', raw)[:120]!r}).")
        pairs = [(name, address)]
    name, address = pairs[0]
    address = CONTROL.sub("", address).strip()
    if len(address) > 254 or " " in address:
        raise MailRejected("The sender address is not a valid e-mail address.")
    return " ".join(CONTROL.sub(" ", name).split())[:120], address


def _text_of(part: EmailMessage) -> str:
    try:
        text = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: keep what can be read
        text = (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
    return text if isinstance(text, str) else ""


def _body(msg: EmailMessage) -> tuple[str, EmailMessage | None]:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", None
    text = _text_of(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    text = text.replace("\r\n", "\n").strip()
    if len(text) > BODY_LIMIT:
        text = text[:BODY_LIMIT] + "\n\n[… the rest of this message was cut]"
    return text, part


def _safe_filename(name: str, index: int, content_type: str) -> str:
    name = CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    if not name:
        ext = {"text/plain": "txt", "message/rfc822": "eml", "application/pdf": "pdf"}.get(content_type, "bin")
        name = f"attachment-{index}.{ext}"
    return name[-200:]


def _leaves(part: EmailMessage):
    """Leaf parts, without descending into attached messages (they are one attachment)."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for sub in part.iter_parts():
            yield from _leaves(sub)
    else:
        yield part


def _attachments(msg: EmailMessage, body_part: EmailMessage | None) -> tuple[MailFile, ...]:
    files = []
    for part in _leaves(msg):
        if part is body_part or part is msg and not msg.is_multipart():
            continue
        ctype = part.get_content_type()
        named = part.get_filename() is not None or part.get_content_disposition() == "attachment"
        if not named and ctype in ("text/plain", "text/html"):
            continue  # the other alternative of the body
        if ctype == "message/rfc822":
            inner = part.get_payload()
            data = inner[0].as_bytes() if isinstance(inner, list) and inner else b""
        else:
            data = part.get_payload(decode=True) or b""
        files.append(MailFile(_safe_filename(part.get_filename() or "", len(files) + 1, ctype), ctype, data))
    return tuple(files)


def _fatal_defect(msg: EmailMessage) -> str | None:
    for part in msg.walk():
        for defect in getattr(part, "defects", ()):
            for kind, words in FATAL_DEFECTS.items():
                if isinstance(defect, kind):
                    return words
    return None


SKIP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "return-path",
    "x-escalation-notice",
    "content-type",
    "x-loop",
)


def parse(raw: bytes) -> ParsedMail:
    """Parse a whole message or raise ``MailRejected``."""
    if not raw or not raw.strip():
        raise MailRejected("The message is empty.")
    try:
        msg = message_from_bytes(raw, policy=policy.default)
        if not msg.keys():
            raise MailRejected("The message has no headers.")
        from_name, from_address = _sender(msg)
        body, body_part = _body(msg)
        attachments = _attachments(msg, body_part)
        if (defect := _fatal_defect(msg)) is not None:  # after decoding: base64 defects appear then
            raise MailRejected(f"Malformed MIME: {defect}.")
        refs = _ids(_header(msg, "In-Reply-To")) + list(reversed(_ids(_header(msg, "References"))))
        found = _ids(_header(msg, "Message-ID"))
        headers = {name: _header(msg, name) for name in SKIP_HEADERS if name in msg}  # `in`: no parsing
    except MailRejected:
        raise
    except Exception as exc:  # the parser gave up on something: refuse it, never half-read it
        raise MailRejected(f"Malformed message: {type(exc).__name__}: {str(exc)[:200]}") from exc
    return ParsedMail(
        message_id=found[0] if found else synthetic_message_id(raw),
        from_name=from_name or from_address.split("@")[0],
        from_address=from_address,
        subject=normalise_subject(_header(msg, "Subject")),
        body=body,
        attachments=attachments,
        references=tuple(dict.fromkeys(refs)),
        headers=headers,
        content_type=msg.get_content_type(),
    )


# -- what never opens a case ------------------------------------------------------------

BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DAEMONS = {"mailer-daemon", "postmaster"}


def _auto_submitted(mail: ParsedMail, own: Own) -> str | None:
    value = mail.headers.get("auto-submitted", "").strip().lower()
    return f"Auto-Submitted: {value}" if value and not value.startswith("no") else None


def _precedence(mail: ParsedMail, own: Own) -> str | None:
    value = mail.headers.get("precedence", "").strip().lower()
    return f"Precedence: {value}" if value in BULK_PRECEDENCE else None


def _autoreply_header(mail: ParsedMail, own: Own) -> str | None:
    for name in ("x-autoreply", "x-autorespond"):
        if name in mail.headers:
            return f"{name.title()} header (an automatic reply)"
    return None


def _bounce(mail: ParsedMail, own: Own) -> str | None:
    if mail.from_address.split("@")[0].lower() in DAEMONS:
        return f"a delivery report from {mail.from_address}"
    if "return-path" in mail.headers and mail.headers["return-path"].strip() in ("<>", ""):
        return "an empty Return-Path (a delivery status notification)"
    if mail.content_type == "multipart/report":
        return "a multipart/report (delivery or read report)"
    return None


def _ours(mail: ParsedMail, own: Own) -> str | None:
    if own.is_ours(mail.message_id):
        return "our own Message-ID (a mail loop)"
    if "x-escalation-notice" in mail.headers:
        return "our own notice (X-Escalation-Notice) came back (a mail loop)"
    if mail.from_address.lower() in own.addresses:
        return f"sent from our own address {mail.from_address} (a mail loop)"
    return None


@dataclass(frozen=True)
class Own:
    """What identifies our own mail: our addresses and a test for our Message-IDs."""

    addresses: frozenset[str]
    is_ours: object  # Callable[[str], bool]


SKIP_CHECKS = (_ours, _auto_submitted, _precedence, _autoreply_header, _bounce)


def skip_reason(mail: ParsedMail, own: Own) -> str | None:
    """Why this message must not open a case or be added to one, or None."""
    for check in SKIP_CHECKS:
        if (reason := check(mail, own)) is not None:
            return reason
    return None
