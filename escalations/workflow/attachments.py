"""Files on a case, whoever sends them: the requester (e-mail, the portal) or staff (on an
internal note or a public update). One check for every channel (size, type, the virus-scan
hook) and one way to store them (Django's storage API, under the content hash, each row
with history)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fnmatch import fnmatch

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.module_loading import import_string

from escalations.models import Attachment, Case, Note
from escalations.workflow.actors import Actor
from escalations.workflow.base import InvalidAction, save


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} kB"


def scanner():
    """The virus-scan hook: ``ATTACHMENT_SCANNER`` names a callable
    ``scan(filename, content_type, data) -> str | None``; a string is the reason the file is
    refused. Empty: no scan."""
    path = getattr(settings, "ATTACHMENT_SCANNER", "")
    return import_string(path) if path else None


def check_files(files: list[IncomingFile] | tuple[IncomingFile, ...]) -> None:
    """Refuse them all when one file is empty, too large, of a type not accepted (settings
    ``ATTACHMENT_MAX_BYTES``, ``ATTACHMENT_TYPES``) or refused by the scanner, before
    anything is written."""
    limit, types, scan = settings.ATTACHMENT_MAX_BYTES, settings.ATTACHMENT_TYPES, scanner()
    for f in files:
        if len(f.data) > limit:
            raise InvalidAction(
                f"The attachment {f.filename!r} is {_size(len(f.data))}; the limit is {_size(limit)}.",
                {"attachments": "Too large."},
            )
        if not any(fnmatch(f.content_type.lower(), pattern.lower()) for pattern in types):
            raise InvalidAction(
                f"The attachment {f.filename!r} is of type {f.content_type}, which is not accepted.",
                {"attachments": "Type not accepted."},
            )
        reason = scan(f.filename, f.content_type, f.data) if scan is not None else None
        if reason:
            raise InvalidAction(
                f"The attachment {f.filename!r} was refused by the virus scan: {reason}",
                {"attachments": "Refused by the virus scan."},
            )


def attach_files(case: Case, note: Note | None, files, actor: Actor, now) -> list[Attachment]:
    """Store each file under its content hash, then its row (with history). A crash
    between the two leaves an unreferenced file, never a row without its file; the same
    content sent again reuses it."""
    rows = []
    for f in files:
        digest = hashlib.sha256(f.data).hexdigest()
        name = f"attachments/{digest[:2]}/{digest}"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(f.data))
        row = Attachment(
            case=case,
            note=note,
            filename=f.filename[:200],
            content_type=f.content_type[:100],
            size=len(f.data),
            sha256=digest,
            uploaded_by=actor,
            created_at=now,
        )
        row.file.name = name
        save(row, actor, f"Attached {f.filename[:200]}")
        rows.append(row)
    return rows
