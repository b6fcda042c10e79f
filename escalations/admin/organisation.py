"""The ladder and the people on it: levels, categories, teams, staff, authority."""

from __future__ import annotations

from django.contrib import admin

from escalations.admin.base import HistoryAdmin, ScopedChoicesMixin
from escalations.models import AuthorityGrant, Category, Level, StaffProfile, Team


class AuthorityGrantInline(ScopedChoicesMixin, admin.TabularInline):
    model = AuthorityGrant
    extra = 0


@admin.register(Level)
class LevelAdmin(HistoryAdmin):
    list_display = ["rank", "code", "name", "response_target", "resolution_target", "authority"]
    list_display_links = ["code"]
    search_fields = ["code", "name"]
    ordering = ["rank"]
    inlines = [AuthorityGrantInline]


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
    list_display = ["user", "level", "capacity", "on_duty", "calendar"]
    list_filter = ["level", "on_duty"]
    list_select_related = ["user", "level", "calendar"]
    search_fields = ["user__username", "user__email", "user__first_name", "user__last_name"]
    raw_id_fields = ["user"]
    filter_horizontal = ["skills"]


@admin.register(AuthorityGrant)
class AuthorityGrantAdmin(HistoryAdmin):
    list_display = ["level", "kind", "limit"]
    list_filter = ["level", "kind"]
    list_select_related = ["level"]
