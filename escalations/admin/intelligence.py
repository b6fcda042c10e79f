"""The desk's intelligence: scoring and routing policies (configured here), risk models and
collaborations (read-only records), and the managers' policy what-if page.

The what-if page hangs off the scoring policies' admin (``scoringpolicy/whatif/``) and
needs ``escalations.manage_desk``: it reads every case of a period, writes nothing.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from escalations.admin.base import CaseRowsMixin, HistoryAdmin, ReadOnlyMixin
from escalations.automation import whatif, whatif_compare
from escalations.core.bounds import BoundedDateField
from escalations.intelligence import scoring
from escalations.models import (
    CaseSuggestion,
    Collaboration,
    RiskModel,
    RoutingPolicy,
    ScoringPolicy,
    SlaPolicy,
    TextModel,
    TriggerRule,
)

PERM_MANAGE = "escalations.manage_desk"


def _one_active(model, instance, value: bool, what: str) -> bool:
    if value:
        other = model.objects.filter(is_active=True).exclude(pk=instance.pk).first()
        if other is not None:
            raise ValidationError(f"'{other}' is the active {what}; deactivate it there first (one is active).")
    return value


class ScoringPolicyForm(forms.ModelForm):
    class Meta:
        model = ScoringPolicy
        fields = ["name", "is_active", "matrix", "tier_boost", "business_impact_weight"]

    def clean_matrix(self):
        value = self.cleaned_data.get("matrix")
        value = {} if value in (None, "") else value
        problems = scoring.matrix_problems(value)
        if problems:
            raise ValidationError(problems)
        return value

    def clean_tier_boost(self):
        value = self.cleaned_data.get("tier_boost")
        value = {} if value in (None, "") else value
        problems = scoring.tier_boost_problems(value)
        if problems:
            raise ValidationError(problems)
        return value

    def clean_business_impact_weight(self):
        value = self.cleaned_data.get("business_impact_weight")
        if value is not None and not 0 <= value <= 100:
            raise ValidationError("Use a weight from 0 to 100 score points per business-impact step.")
        return value

    def clean_is_active(self):
        return _one_active(ScoringPolicy, self.instance, self.cleaned_data["is_active"], "scoring policy")


@admin.register(ScoringPolicy)
class ScoringPolicyAdmin(HistoryAdmin):
    form = ScoringPolicyForm
    list_display = ["name", "is_active", "business_impact_weight"]
    search_fields = ["name"]
    readonly_fields = ["resulting_matrix"]
    fieldsets = [
        (None, {"fields": ["name", "is_active"]}),
        (
            "Priority",
            {
                "fields": ["matrix", "tier_boost", "resulting_matrix"],
                "description": 'Impact and urgency run from 1 (high) to 3 (low); a cell "impact,urgency" gives the '
                "priority 1 (P1) to 4 (P4). A tier boost raises the priority by that many steps.",
            },
        ),
        (
            "Queue order",
            {
                "fields": ["business_impact_weight"],
                "description": f"Score = (5 - priority) x {scoring.PRIORITY_POINTS:g} + business impact (0-3) x weight; "
                "within a priority the higher score is served first.",
            },
        ),
    ]

    @admin.display(description="resulting matrix (standard tier)")
    def resulting_matrix(self, policy: ScoringPolicy) -> str:
        rows = scoring.effective_matrix(policy if policy.pk else None)
        return " | ".join(f"impact {i}: " + " ".join(f"P{p}" for p in row) for i, row in enumerate(rows, start=1))

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET" and request.user.has_perm(PERM_MANAGE):
            messages.info(
                request,
                format_html(
                    'Before activating a new SLA policy or rules, replay past cases against them: <a href="{}">'
                    "policy what-if</a>.",
                    reverse(f"{self.admin_site.name}:escalations_scoringpolicy_whatif"),
                ),
            )
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "whatif/",
                self.admin_site.admin_view(self.whatif_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_whatif",
            ),
            *super().get_urls(),
        ]

    def whatif_view(self, request):
        if not request.user.has_perm(PERM_MANAGE):
            raise PermissionDenied("The policy what-if is for managers.")
        form = WhatIfForm(request.GET or None, initial=WhatIfForm.current_setup())
        report = comparison = current = None
        if form.is_valid():
            d = form.cleaned_data
            report = whatif.simulate(d["date_from"], d["date_to"], d["policy"], list(d["rules"]))
            setup = WhatIfForm.current_setup()
            current = whatif.simulate(
                d["date_from"], d["date_to"], SlaPolicy.objects.filter(pk=setup["policy"]).first(), setup["rules"]
            )
            comparison = whatif_compare.compare(current, report)
        context = {
            **self.admin_site.each_context(request),
            "title": "Policy what-if",
            "subtitle": "Replay a period's cases against a draft SLA policy and trigger rules (nothing is saved)",
            "opts": self.opts,
            "form": form,
            "report": report,
            "current": current,
            "comparison": comparison,
            "level_figures": [
                "Cases",
                "Response breaches",
                "Resolution breaches",
                "Rule escalations",
                "Manual escalations",
            ],
            "team_figures": ["Cases", "Escalations in", "Peak open"],
            "level_header": [
                "Level",
                "Cases",
                "Response breaches",
                "Resolution breaches",
                "Rule escalations",
                "Manual escalations",
            ],
            "team_header": ["Team", "Cases", "Escalations in", "Peak open"],
            "changelist_url": reverse(f"{self.admin_site.name}:escalations_scoringpolicy_changelist"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/escalations/whatif.html", context, status=400 if form.errors else 200)


class WhatIfForm(forms.Form):
    date_from = BoundedDateField(
        label="Opened from",
        widget=forms.DateInput(attrs={"type": "date"}),
        initial=lambda: date.today() - timedelta(days=30),
    )
    date_to = BoundedDateField(
        label="Opened until (inclusive)", widget=forms.DateInput(attrs={"type": "date"}), initial=date.today
    )
    policy = forms.ModelChoiceField(
        SlaPolicy.objects.select_related("calendar").order_by("name"), label="Draft SLA policy"
    )
    rules = forms.ModelMultipleChoiceField(
        TriggerRule.objects.select_related("target_level", "level").order_by("order", "pk"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Trigger rules",
        help_text="Inactive (draft) rules count as active in the replay.",
    )

    @staticmethod
    def current_setup() -> dict:
        """What the desk runs now: the default policy and the active rules (preselected, and
        the left side of the comparison)."""
        policy = SlaPolicy.objects.default()
        return {
            "policy": policy.pk if policy else None,
            "rules": list(TriggerRule.objects.filter(is_active=True).order_by("order", "pk")),
        }

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to"):
            if data["date_to"] < data["date_from"]:
                raise ValidationError("The period ends before it starts.")
            if (data["date_to"] - data["date_from"]).days > 366:
                raise ValidationError("Replay at most a year at a time (use the whatif command for more).")
        return data


class RoutingPolicyForm(forms.ModelForm):
    class Meta:
        model = RoutingPolicy
        fields = ["name", "is_active", "mode", "route_to_predicted_level", "predicted_level_confidence"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "predicted_level_confidence" in self.fields:  # absent when the page is read-only
            self.fields["predicted_level_confidence"].required = False  # left empty: the default

    def clean_predicted_level_confidence(self):
        value = self.cleaned_data["predicted_level_confidence"]
        if value is None:
            return RoutingPolicy._meta.get_field("predicted_level_confidence").default
        if not 0.5 <= value <= 1:
            raise ValidationError("Give a confidence between 0.5 and 1 (e.g. 0.8).")
        return value

    def clean_is_active(self):
        return _one_active(RoutingPolicy, self.instance, self.cleaned_data["is_active"], "routing policy")


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(HistoryAdmin):
    form = RoutingPolicyForm
    list_display = ["name", "is_active", "mode"]
    search_fields = ["name"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "is_active", "mode"],
                "description": "Suggest: the case says who should take it. Assign: intake sets the team and person; "
                "an escalation sets the receiving team (the level accepts it itself). The choice "
                "weighs skills (categories), duty, working hours and open cases against capacity.",
            },
        ),
        (
            "Route straight to the predicted level",
            {
                "fields": ["route_to_predicted_level", "predicted_level_confidence"],
                "description": "When the text model is at least this confident that a new case will be resolved "
                "at a higher level than its first step, the case goes there at intake with an automatic handoff "
                "(recorded as a skip of the first level). The text-model report shows how often that was right.",
            },
        ),
    ]


@admin.register(TextModel)
class TextModelAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["trained_at", "source", "is_active", "n_train", "n_test"]
    list_filter = ["is_active", "source"]
    fields = ["trained_at", "source", "is_active", "metrics", "n_train", "n_test"]  # coefficients: too long to show


@admin.register(CaseSuggestion)
class CaseSuggestionAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["created_at", "case", "category", "priority", "level", "decision", "routed"]
    list_filter = ["decision", "routed"]
    list_select_related = ["case", "category", "level"]
    raw_id_fields = ["case", "model", "category", "level", "decided_by"]
    show_full_result_count = False


@admin.register(RiskModel)
class RiskModelAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["trained_at", "target", "is_active", "n_train", "n_test"]
    list_filter = ["target", "is_active"]
    fields = ["target", "trained_at", "is_active", "features", "parameters", "metrics", "n_train", "n_test"]


@admin.register(Collaboration)
class CollaborationAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["created_at", "case", "user", "team", "invited_by", "is_active", "ended_at"]
    list_filter = ["is_active"]
    list_select_related = ["case", "user", "team__level", "invited_by"]
    raw_id_fields = ["case", "user", "team", "invited_by"]
    search_fields = ["user__username", "team__name"]
    show_full_result_count = False
