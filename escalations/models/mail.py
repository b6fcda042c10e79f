"""What the e-mail channel keeps: the mailboxes it polls (mapped to a category and team),
one row per message it has read (the exactly-once record), and files attached to cases."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from escalations.audit.records import audited_history
from escalations.models import limits
from escalations.models.case import Case
from escalations.models.limits import text_field
from escalations.models.organisation import Category, Team
from escalations.models.records import Note


class Mailbox(models.Model):
    """A polled mailbox. ``source`` is the identity of one ``MAILBOX_URLS`` entry without
    its password (``user@host:port/folder``): the password stays in the environment."""

    name = models.CharField(max_length=80, unique=True)
    source = models.CharField(
        max_length=300,
        unique=True,
        help_text="user@host:port/folder of an entry in MAILBOX_URLS (the password stays in the environment).",
    )
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Cases opened from this mailbox get this category.",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Blank: the first step of the category's escalation path decides.",
    )
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = text_field(limits.SYSTEM, blank=True, editable=False)

    history = audited_history(excluded_fields=["last_polled_at", "last_error"])

    class Meta:
        verbose_name_plural = "mailboxes"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InboundOutcome(models.TextChoices):
    OPENED = "opened", "Opened a case"
    REPLIED = "replied", "Added to a case"
    REOPENED = "reopened", "Reopened a resolved case"
    FOLLOW_UP = "follow_up", "Opened a follow-up case"
    SKIPPED = "skipped", "Skipped (automatic or our own)"
    ERROR = "error", "Refused (error)"


class InboundMessage(models.Model):
    """One message read from a mailbox. Written in the same transaction as the case or note
    it produced, and unique per mailbox and Message-ID, so a message read twice (a crash
    before the server was told it is seen, two overlapping polls) is acted on once.
    Operational data: its own row is its record (no history table)."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="messages")
    message_id = models.CharField(max_length=255, help_text="As sent, or sha256-<hash of the bytes> when missing.")
    uid = models.BigIntegerField(null=True, blank=True, help_text="IMAP UID when read (informational).")
    received_at = models.DateTimeField(default=timezone.now)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    size = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=InboundOutcome.choices)
    reason = text_field(blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound_messages")
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-received_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "message_id"], name="one_inbound_per_mailbox_message_id"),
        ]
        indexes = [
            models.Index(fields=["message_id"], name="inbound_message_id"),
            models.Index(fields=["case", "received_at"], name="inbound_case", condition=models.Q(case__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.outcome})"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"attachments/{instance.sha256[:2]}/{instance.sha256}"


class Attachment(models.Model):
    """A file a requester sent with a message (e-mail today, the portal later). Stored
    through Django's storage API under its content hash; ``filename`` is the sender's name."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who stored it (the system account for a requester's e-mail).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    history = audited_history()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.size} bytes) on case {self.case_id}"
