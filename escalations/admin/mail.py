"""The e-mail channel in the back office: mailboxes (configuration: which ``MAILBOX_URLS``
entry feeds which category and team), the messages read (read-only: what each became, or
why it was skipped or refused) and the files requesters sent (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from escalations.admin.base import CaseRowsMixin, HistoryAdmin, ReadOnlyMixin
from escalations.channels.mail.config import source_choices
from escalations.models import Attachment, InboundMessage, Mailbox


class MailboxForm(forms.ModelForm):
    """``source`` is chosen from the entries of ``MAILBOX_URLS`` (no password is typed here)."""

    class Meta:
        model = Mailbox
        fields = ["name", "source", "category", "team", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = source_choices()
        current = self.instance.source if self.instance.pk else ""
        if current and current not in dict(choices):
            choices.append((current, f"{current} (no longer in MAILBOX_URLS)"))
        self.fields["source"] = forms.ChoiceField(
            choices=[("", "---------")] + choices,
            help_text=Mailbox._meta.get_field("source").help_text + " A mailbox missing here: add its URL to "
            "MAILBOX_URLS and restart.",
        )


@admin.register(Mailbox)
class MailboxAdmin(HistoryAdmin):
    form = MailboxForm
    list_display = ["name", "source", "category", "team", "is_active", "last_polled_at", "last_error"]
    list_filter = ["is_active"]
    list_select_related = ["category", "team"]
    readonly_fields = ["last_polled_at", "last_error"]


@admin.register(InboundMessage)
class InboundMessageAdmin(CaseRowsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["received_at", "mailbox", "outcome", "from_address", "subject", "case", "reason"]
    list_filter = ["outcome", "mailbox"]
    list_select_related = ["mailbox", "case"]
    raw_id_fields = ["case", "note"]
    search_fields = ["=message_id", "=from_address", "subject"]
    show_full_result_count = False


@admin.register(Attachment)
class AttachmentAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["created_at", "case", "filename", "content_type", "size"]
    list_select_related = ["case"]
    raw_id_fields = ["case", "note", "uploaded_by"]
    search_fields = ["filename"]
    show_full_result_count = False
