"""The API and monitoring intake in the back office: the severity mapping and the alert
rules (configuration, managers), the teams' outgoing webhooks, the alert cases opened
(read-only), and the API tokens (superusers: a token is shown once, when it is made)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from escalations.admin.base import CaseRowsMixin, HistoryAdmin, ReadOnlyInline, ReadOnlyMixin
from escalations.models import AlertCase, AlertDelivery, AlertRule, AlertSeverity, ApiToken, Scope, TeamWebhook


@admin.register(AlertSeverity)
class AlertSeverityAdmin(HistoryAdmin):
    list_display = ["label", "impact", "urgency"]


@admin.register(AlertRule)
class AlertRuleAdmin(HistoryAdmin):
    list_display = ["name", "order", "match", "category", "team", "resolve_on_resolved", "is_active"]
    list_filter = ["is_active", "resolve_on_resolved"]
    list_select_related = ["category", "team"]


@admin.register(TeamWebhook)
class TeamWebhookAdmin(HistoryAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "team", "url", "is_active"]
    list_select_related = ["team"]


class AlertDeliveryInline(ReadOnlyInline):
    """The alert states received for this alert case (the idempotency record)."""

    model = AlertDelivery
    fields = ["received_at", "outcome", "key"]
    show_change_link = False


@admin.register(AlertCase)
class AlertCaseAdmin(CaseRowsMixin, ReadOnlyMixin, admin.ModelAdmin):
    inlines = [AlertDeliveryInline]
    list_display = ["opened_at", "source", "alertname", "fingerprint", "case", "is_open", "last_status"]
    list_filter = ["source", "is_open"]
    list_select_related = ["case"]
    raw_id_fields = ["case"]
    search_fields = ["=fingerprint", "alertname"]
    show_full_result_count = False


class ApiTokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["user", "name", "scopes"]


@admin.register(ApiToken)
class ApiTokenAdmin(HistoryAdmin):
    """Adding issues a token and shows it once; change only revokes (the digest cannot be edited)."""

    form = ApiTokenForm
    list_display = ["prefix", "user", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return ["user", "name", "scopes", "prefix", "created_at", "last_used_at", "revoked_at"] if obj else []

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj) if obj else ["user", "name", "scopes"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        row, text = ApiToken.objects.issue(user=obj.user, scopes=form.cleaned_data["scopes"], name=obj.name)
        obj.pk = row.pk
        self.message_user(request, f"The new token (shown once, copy it now): {text}", messages.WARNING)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        for row in queryset.filter(revoked_at__isnull=True):
            row.revoked_at = timezone.now()
            row._change_reason = "API token revoked"
            row.save()
