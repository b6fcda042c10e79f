"""The requester portal's records in the back office, read-only: satisfaction answers
(scoped like the cases they belong to) and "this solved it" deflections. Only the
workflow writes them; the satisfaction report sums them up."""

from __future__ import annotations

from django.contrib import admin

from escalations.admin.base import CaseRowsMixin, HistoryAdmin, ReadOnlyMixin
from escalations.models import Deflection, SatisfactionSurvey


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["answered_at", "case", "score", "level", "team", "assignee", "escalation_count", "follow_up"]
    list_filter = ["score", "level"]
    list_select_related = ["case", "level", "team", "assignee", "follow_up"]
    raw_id_fields = ["case", "follow_up", "assignee"]
    show_full_result_count = False


@admin.register(Deflection)
class DeflectionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "article", "category", "requester_email", "query"]
    list_filter = ["category"]
    list_select_related = ["article", "category"]
    raw_id_fields = ["article"]
    show_full_result_count = False
