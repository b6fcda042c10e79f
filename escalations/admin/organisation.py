"""The ladder and the people on it: levels, categories, teams, staff, authority.

Who may decide what is changed with four eyes only (``admin.authority_changes``): the
grants are read-only here, a level's rank and a staff member's level are read-only once
saved, and nobody gives themselves a staff profile."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError

from escalations.admin.base import HistoryAdmin, ReadOnlyMixin, ScopedChoicesMixin
from escalations.core.durations import format_duration
from escalations.models import AuthorityGrant, Category, Level, StaffProfile, Team


class AuthorityGrantInline(ReadOnlyMixin, ScopedChoicesMixin, admin.TabularInline):
    model = AuthorityGrant
    extra = 0
    can_delete = False
    verbose_name_plural = "authority grants (change them with a four-eyes authority change)"


@admin.register(Level)
class LevelAdmin(HistoryAdmin):
    list_display = ["rank", "code", "name", "response", "resolution", "authority"]
    list_display_links = ["code"]
    search_fields = ["code", "name"]
    ordering = ["rank"]
    inlines = [AuthorityGrantInline]

    def get_readonly_fields(self, request, obj=None):
        return ("rank",) if obj is not None else ()

    @admin.display(description="response target", ordering="response_target")
    def response(self, level: Level) -> str:
        return format_duration(level.response_target)

    @admin.display(description="resolution target", ordering="resolution_target")
    def resolution(self, level: Level) -> str:
        return format_duration(level.resolution_target)


@admin.register(Category)
class CategoryAdmin(HistoryAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Team)
class TeamAdmin(HistoryAdmin):
    list_display = ["name", "level", "manager", "capacity", "email"]
    list_filter = ["level"]
    list_select_related = ["level", "manager"]
    search_fields = ["name", "email"]
    raw_id_fields = ["manager", "members"]
    filter_horizontal = ["skills"]


@admin.register(StaffProfile)
class StaffProfileAdmin(HistoryAdmin):
    list_display = ["user", "level", "capacity", "on_duty", "calendar", "customer_name"]
    list_filter = ["level", "on_duty"]
    list_select_related = ["user", "level", "calendar"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]
    filter_horizontal = ["skills"]

    def get_readonly_fields(self, request, obj=None):
        return ("user", "level") if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        actor = request.user

        class NotForYourself(form):
            def clean(self):
                cleaned = super().clean()
                if not change and cleaned.get("user") is not None and cleaned["user"].pk == actor.pk:
                    raise ValidationError("You cannot give yourself a staff profile; another manager must.")
                return cleaned

        return NotForYourself


@admin.register(AuthorityGrant)
class AuthorityGrantAdmin(ReadOnlyMixin, HistoryAdmin):
    list_display = ["level", "kind", "limit"]
    list_filter = ["level", "kind"]
    list_select_related = ["level"]
