"""What the automation keeps: the notification outbox, rule firings, the sweep heartbeat;
and the warning, on the admin index and changelists, when the sweep has stopped."""

from __future__ import annotations

import functools

from django.contrib import admin
from django.utils import timezone

from escalations.admin.base import CaseRowsMixin, ReadOnlyMixin, warn_if_sweep_stale
from escalations.models import Notification, RuleFiring, SweepHeartbeat


@admin.register(Notification)
class NotificationAdmin(CaseRowsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "event", "recipient", "status", "attempts", "case", "sent_at", "last_error"]
    list_filter = ["status"]
    list_select_related = ["case"]
    raw_id_fields = ["case"]
    search_fields = ["=recipient", "=dedupe_key"]
    show_full_result_count = False


@admin.register(RuleFiring)
class RuleFiringAdmin(CaseRowsMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["fired_at", "rule", "case", "level", "times"]
    list_filter = ["rule", "level"]
    list_select_related = ["rule", "case", "level"]
    raw_id_fields = ["case"]
    search_fields = ["rule__name"]
    show_full_result_count = False


@admin.register(SweepHeartbeat)
class SweepHeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "last_run_at", "last_run", "examined", "actions", "duration_ms"]

    @admin.display(description="last run", ordering="last_run_at")
    def last_run(self, beat: SweepHeartbeat) -> str:
        minutes = (timezone.now() - beat.last_run_at).total_seconds() / 60
        return "just now" if minutes < 1 else f"{minutes:.0f} min ago"

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            warn_if_sweep_stale(request)
        return super().changelist_view(request, extra_context)


def warn_on_index(site: admin.AdminSite) -> None:
    """Show the stale-sweep warning on the admin index (the first page a manager sees).

    The default site cannot be given a subclass from here without touching the project's
    URLs, so its ``index`` view is wrapped once; ``get_urls`` reads it when building URLs."""
    if getattr(site.index, "_warns_on_stale_sweep", False):
        return
    original = site.index

    @functools.wraps(original)
    def index(request, extra_context=None):
        if request.user.has_perm("escalations.view_sweepheartbeat"):
            warn_if_sweep_stale(request)
        return original(request, extra_context)

    index._warns_on_stale_sweep = True
    site.index = index


warn_on_index(admin.site)
