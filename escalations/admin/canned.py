"""Canned replies: managers keep them per team (blank team: everyone); the team select
offers only the teams the user may see (``ScopedChoicesMixin`` through ``HistoryAdmin``)."""

from __future__ import annotations

from django.contrib import admin

from escalations.admin.base import HistoryAdmin
from escalations.models import CannedReply


@admin.register(CannedReply)
class CannedReplyAdmin(HistoryAdmin):
    list_display = ["name", "team", "is_active"]
    list_filter = ["is_active", "team"]
    list_select_related = ["team"]
    search_fields = ["name", "body"]
    fields = ["name", "team", "body", "is_active"]
