"""What the automation keeps: the notification outbox, rule firings, the sweep heartbeat;
and the warning, on the admin index and changelists, when the sweep has stopped."""

from __future__ import annotations

import functools
from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.utils import timezone

from escalations.admin.base import CaseRowsMixin, ReadOnlyMixin, warn_if_sweep_stale
from escalations.core.durations import format_duration
from escalations.models import Notification, RuleFiring, SweepHeartbeat
from escalations.selectors.readable import local_seconds


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
    list_display = ["fired_at", "rule", "case", "level", "times", "told"]
    list_filter = ["rule", "level"]
    list_select_related = ["rule", "case", "level"]
    raw_id_fields = ["case"]
    search_fields = ["rule__name"]
    show_full_result_count = False

    @admin.display(description="who was told")
    def told(self, firing: RuleFiring) -> str:
        """The addresses its last firing notified: "nobody" is shown, never left blank."""
        return ", ".join(firing.recipients) if firing.recipients else "nobody"


@admin.register(SweepHeartbeat)
class SweepHeartbeatAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Sweep health: when each sweep last ran, how long it took, how many cases it
    handled, and how late it is now (the page warns when it is later than allowed)."""

    list_display = ["name", "last_run_local", "lag", "cases_handled", "actions", "duration"]

    @admin.display(description="last run", ordering="last_run_at")
    def last_run_local(self, beat: SweepHeartbeat) -> str:
        return local_seconds(beat.last_run_at)

    @admin.display(description="lag (since last run)")
    def lag(self, beat: SweepHeartbeat) -> str:
        seconds = max(0, (timezone.now() - beat.last_run_at).total_seconds())
        text = "just now" if seconds < 60 else f"{format_duration(timedelta(seconds=round(seconds)))} ago"
        limit = settings.ESCALATIONS["SWEEP_STALE_MINUTES"]
        return f"{text} — LATE (limit {limit} min)" if seconds > limit * 60 else text

    @admin.display(description="cases handled", ordering="examined")
    def cases_handled(self, beat: SweepHeartbeat) -> int:
        return beat.examined

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, beat: SweepHeartbeat) -> str:
        return f"{beat.duration_ms:,.0f} ms"

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
